import { z } from 'zod';

/** Fields pulled per object when the config names none (Account.Name is the lookup the mappings use). */
export const DEFAULT_FIELDS: Record<string, readonly string[]> = {
  Contact: [
    'Id',
    'FirstName',
    'LastName',
    'Email',
    'Phone',
    'AccountId',
    'Account.Name',
    'CreatedDate',
    'LastModifiedDate',
    'SystemModstamp',
  ],
  Lead: [
    'Id',
    'FirstName',
    'LastName',
    'Email',
    'Company',
    'Status',
    'CreatedDate',
    'LastModifiedDate',
    'SystemModstamp',
  ],
  Account: ['Id', 'Name', 'Industry', 'Phone', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp'],
  Opportunity: [
    'Id',
    'Name',
    'StageName',
    'CloseDate',
    'Amount',
    'AccountId',
    'CreatedDate',
    'LastModifiedDate',
    'SystemModstamp',
  ],
};

const sfId = (prefix: string) =>
  z
    .string()
    .regex(
      new RegExp(`^${prefix}[a-zA-Z0-9]{12}([a-zA-Z0-9]{3})?$`),
      `must be a 15 or 18 character Salesforce id starting with ${prefix}`,
    );
const apiName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'must be a Salesforce API name');

export const salesforceConfigSchema = z
  .object({
    /** Login host for the token request: the org's My Domain URL (client credentials needs it). */
    baseUrl: z.string().url().default('https://login.salesforce.com'),
    apiVersion: z
      .string()
      .regex(/^\d{2}\.0$/, 'must look like 60.0')
      .default('60.0'),
    auth: z.discriminatedUnion('type', [
      z.object({ type: z.literal('client_credentials'), clientId: z.string().min(1), clientSecret: z.string().min(1) }),
      z.object({
        type: z.literal('jwt_bearer'),
        clientId: z.string().min(1),
        username: z.string().min(1),
        /** PEM private key whose certificate is uploaded to the connected app. */
        privateKey: z.string().includes('PRIVATE KEY', { message: 'must be a PEM private key' }),
        /**
         * The assertion's `aud`: https://login.salesforce.com, https://test.salesforce.com for a
         * sandbox, or the Experience Cloud site URL for community users; never the My Domain URL.
         * @default https://test.salesforce.com when baseUrl is a sandbox, else https://login.salesforce.com
         */
        audience: z.string().url().optional(),
      }),
    ]),
    /** The org whose outbound messages are accepted. */
    organizationId: sfId('00D'),
    /** Secret carried in the outbound message endpoint URL (`?token=`), since the messages themselves are unsigned. */
    webhookToken: z.string().min(16, 'must be at least 16 characters'),
    /** Records per query batch (Sforce-Query-Options; Salesforce documents 200–2000, and may answer smaller batches). */
    batchSize: z
      .number()
      .int()
      .min(200, 'Salesforce query batches are 200 to 2000 records')
      .max(2000, 'Salesforce query batches are 200 to 2000 records')
      .default(2000),
    /** Pushes above this many records go through a Bulk API 2.0 ingest job instead of composite calls. */
    bulkThreshold: z.number().int().min(1).default(2000),
    /** External id field per object for upserts. */
    externalIdFields: z.record(apiName, apiName).default({}),
    /** Fields pulled per object, overriding DEFAULT_FIELDS. */
    fields: z.record(apiName, z.array(z.string().regex(/^[A-Za-z][A-Za-z0-9_.]*$/)).min(1)).default({}),
    /** Poll interval while a bulk job runs, and the longest it may take. */
    bulkPollMs: z.number().int().min(1).default(2000),
    bulkTimeoutMs: z.number().int().min(1).default(600_000),
  })
  .strict();

export type SalesforceConfig = z.infer<typeof salesforceConfigSchema>;

/** The JWT bearer `aud` for a config: the configured one, else the login host of the org's kind. */
export function jwtAudience(baseUrl: string, configured: string | undefined): string {
  if (configured) return configured.replace(/\/+$/, '');
  const host = new URL(baseUrl).hostname;
  return host === 'test.salesforce.com' || host.endsWith('.sandbox.my.salesforce.com')
    ? 'https://test.salesforce.com'
    : 'https://login.salesforce.com';
}
