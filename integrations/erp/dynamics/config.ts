import { z } from 'zod';

export const dynamicsConfigSchema = z
  .object({
    /** The environment URL, e.g. https://contoso.crm.dynamics.com (also the token's audience). */
    orgUrl: z.string().url(),
    /** Microsoft Entra ID tenant (directory) id of the application user. */
    tenantId: z.string().min(1),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1),
    /** Token endpoint; defaults to the tenant's v2.0 endpoint at login.microsoftonline.com. */
    tokenUrl: z.string().url().optional(),
    /** Upserts (one change set each) per `$batch` request; Dataverse takes at most 1,000 requests in one. */
    batchSize: z.number().int().min(1).max(1000).default(100),
    /** Rows per page (`Prefer: odata.maxpagesize`). */
    pageSize: z.number().int().min(1).max(5000).default(500),
    /** The alternate key a push upserts each table by; the environment must define it (see the README). */
    alternateKeys: z
      .record(z.string(), z.string().regex(/^[a-z0-9_]+$/))
      .default({ contacts: 'emailaddress1', accounts: 'accountnumber' }),
    /** The WebhookKey of the registered service endpoint (sent as `?code=`); absent: deliveries are refused. */
    webhookKey: z.string().min(16).optional(),
    /** The organization whose webhook deliveries are accepted (RemoteExecutionContext.OrganizationId). */
    organizationId: z.string().uuid().optional(),
  })
  .strict();

export type DynamicsConfig = z.infer<typeof dynamicsConfigSchema>;
