import { z } from 'zod';

const jwk = z.object({ kty: z.string(), kid: z.string().optional() }).passthrough();

export const constantContactConfigSchema = z
  .object({
    clientId: z.string().min(1, 'clientId is required'),
    /** Absent for PKCE (public) apps, which refresh with the client id alone. */
    clientSecret: z.string().min(1).optional(),
    refreshToken: z.string().min(1, 'refreshToken is required'),
    /** Override of the API host (tests, demo); production leaves it at https://api.cc.email. */
    baseUrl: z.string().url().default('https://api.cc.email'),
    /** OAuth2 token endpoint; production leaves it at Constant Contact's authorization server. */
    tokenUrl: z.string().url().default('https://authz.constantcontact.com/oauth2/default/v1/token'),
    /** Lists that pushed contacts join (sign_up_form and imports require at least one). */
    listIds: z.array(z.string().min(1)).max(50).default([]),
    /** Contacts per page (Constant Contact allows up to 500). */
    pageSize: z.number().int().min(1).max(500).default(500),
    /** Pushes of at least this many contacts use a bulk JSON import activity. */
    bulkThreshold: z.number().int().min(1).default(100),
    /** Contacts per import activity (Constant Contact's maximum is 40,000, and 4 MB). */
    bulkSize: z.number().int().min(1).max(40_000).default(20_000),
    bulkPollMs: z.number().int().min(1).default(2000),
    bulkTimeoutMs: z
      .number()
      .int()
      .min(1)
      .default(30 * 60_000),
    /** Constant Contact allows 4 requests per second per application. */
    requestsPerSecond: z.number().min(0.5).default(4),
    /** Public JSON web keys that sign webhooks (from https://developer.constantcontact.com/.well-known/jwks.json). */
    webhookJwks: z.object({ keys: z.array(jwk).min(1) }).optional(),
    webhookToleranceMs: z
      .number()
      .int()
      .min(1000)
      .default(5 * 60_000),
  })
  .strict();

export type ConstantContactConfig = z.infer<typeof constantContactConfigSchema>;
