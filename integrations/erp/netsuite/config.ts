import { z } from 'zod';

export const netsuiteConfigSchema = z
  .object({
    /** The account id as NetSuite shows it (e.g. 1234567 or 1234567_SB1 for a sandbox). */
    accountId: z.string().regex(/^[A-Za-z0-9_]+$/),
    /** REST host; defaults to https://<account id, lower case, _ as ->.suitetalk.api.netsuite.com. */
    baseUrl: z.string().url().optional(),
    /** OAuth 2.0 M2M: client ID of the integration record with the client credentials grant. */
    clientId: z.string().min(1).optional(),
    /** OAuth 2.0 M2M: certificate ID of the mapping, sent as the JWT's `kid`. */
    certificateId: z.string().min(1).optional(),
    /** OAuth 2.0 M2M: PEM private key (RSA) of the mapped certificate; signs the PS256 client assertion. */
    privateKey: z.string().includes('PRIVATE KEY').optional(),
    /**
     * Token-based authentication instead of M2M: the integration record's consumer key and secret and
     * the access token (id and secret) of the user and role it acts as; every request is signed
     * (OAuth 1.0a, HMAC-SHA256, realm = account id).
     */
    tba: z
      .object({
        consumerKey: z.string().min(1),
        consumerSecret: z.string().min(1),
        tokenId: z.string().min(1),
        tokenSecret: z.string().min(1),
      })
      .strict()
      .optional(),
    /** Primary subsidiary of customers created by a push (OneWorld accounts require one). */
    subsidiaryId: z.string().regex(/^\d+$/).default('1'),
    /** Rows per SuiteQL page (NetSuite allows 1000). */
    pageSize: z.number().int().min(1).max(1000).default(1000),
    /** How long a 429 for the account's concurrency limit waits before the retry, in ms (NetSuite sends no Retry-After). */
    concurrencyWaitMs: z.number().int().min(0).max(60_000).default(2000),
  })
  .strict()
  .superRefine((config, ctx) => {
    const m2m = [config.clientId, config.certificateId, config.privateKey];
    if (config.tba && m2m.some((v) => v !== undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['tba'],
        message: 'choose one: tba, or clientId/certificateId/privateKey (M2M)',
      });
    else if (!config.tba && m2m.some((v) => v === undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['clientId'],
        message: 'M2M needs clientId, certificateId and privateKey (or configure tba for token-based authentication)',
      });
  });

export type NetSuiteConfig = z.infer<typeof netsuiteConfigSchema>;
