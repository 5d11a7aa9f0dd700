import { z } from 'zod';

export const netsuiteConfigSchema = z
  .object({
    /** The account id as NetSuite shows it (e.g. 1234567 or 1234567_SB1 for a sandbox). */
    accountId: z.string().regex(/^[A-Za-z0-9_]+$/),
    /** REST host; defaults to https://<account id, lower case, _ as ->.suitetalk.api.netsuite.com. */
    baseUrl: z.string().url().optional(),
    /** Client ID (consumer key) of the integration record with the client credentials (M2M) grant. */
    clientId: z.string().min(1),
    /** Certificate ID of the M2M mapping, sent as the JWT's `kid`. */
    certificateId: z.string().min(1),
    /** PEM private key (RSA) of the mapped certificate; signs the PS256 client assertion. */
    privateKey: z.string().includes('PRIVATE KEY'),
    /** Primary subsidiary of customers created by a push (OneWorld accounts require one). */
    subsidiaryId: z.string().regex(/^\d+$/).default('1'),
    /** Rows per SuiteQL page (NetSuite allows 1000). */
    pageSize: z.number().int().min(1).max(1000).default(1000),
    /** How long a 429 for the account's concurrency limit waits before the retry, in ms (NetSuite sends no Retry-After). */
    concurrencyWaitMs: z.number().int().min(0).max(60_000).default(2000),
  })
  .strict();

export type NetSuiteConfig = z.infer<typeof netsuiteConfigSchema>;
