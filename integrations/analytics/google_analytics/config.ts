import { z } from 'zod';

export const googleAnalyticsConfigSchema = z
  .object({
    /** GA4 property id (the number, without `properties/`). */
    propertyId: z.string().regex(/^\d+$/, 'propertyId must be the numeric GA4 property id'),
    /** Service account client email (GOOGLE_ANALYTICS_CLIENT_ID): `iss` of the JWT bearer grant. */
    clientEmail: z.string().email('clientEmail must be the service account email'),
    /** Service account private key, PEM (GOOGLE_ANALYTICS_PRIVATE_KEY); `\n` escapes are accepted. */
    privateKey: z.string().includes('PRIVATE KEY', { message: 'privateKey must be a PEM private key' }),
    /** Key id of that private key, sent as the JWT `kid`. */
    privateKeyId: z.string().min(1).optional(),
    /** Measurement Protocol: the web stream's measurement id and API secret (GOOGLE_ANALYTICS_MP_API_SECRET); without them push() is refused. */
    measurementId: z
      .string()
      .regex(/^G-[A-Z0-9]+$/, 'measurementId must look like G-XXXXXXX')
      .optional(),
    apiSecret: z.string().min(1).optional(),
    /** Validate every push batch at /debug/mp/collect first (the collect endpoint answers 2xx to anything). */
    validatePushes: z.boolean().default(true),
    /** Report shape: `date` is always the first dimension. */
    dimensions: z
      .array(z.string().regex(/^[A-Za-z][A-Za-z0-9_:]*$/))
      .max(8)
      .default(['eventName']),
    metrics: z
      .array(z.string().regex(/^[A-Za-z][A-Za-z0-9_:]*$/))
      .min(1)
      .max(10)
      .default(['eventCount', 'activeUsers']),
    /** First day of a full sync; default 30 days before it starts. */
    startDate: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'startDate must be a YYYY-MM-DD date')
      .optional(),
    /** Days before today re-read and replaced on every pull: GA4 keeps processing recent days (up to about 72 hours). */
    lookBackDays: z.number().int().min(0).max(30).default(3),
    /** The property's reporting time zone, which GA4's days are in (the report's metadata.timeZone). */
    timeZone: z.string().min(1).default('UTC'),
    /** Rows per runReport page (the Data API allows up to 250,000). */
    pageSize: z.number().int().min(1).max(250_000).default(10_000),
    /** How push and erasure name a person: GA4 forbids PII in user_id, so by default the SHA-256 of the email. */
    userIdFromEmail: z.enum(['sha256', 'email']).default('sha256'),
    /** Host overrides (tests, demo); production leaves them unset. */
    tokenUrl: z.string().url().default('https://oauth2.googleapis.com/token'),
    dataApiUrl: z.string().url().default('https://analyticsdata.googleapis.com'),
    collectUrl: z.string().url().default('https://www.google-analytics.com'),
    userDeletionUrl: z.string().url().default('https://www.googleapis.com'),
  })
  .strict();

export type GoogleAnalyticsConfig = z.infer<typeof googleAnalyticsConfigSchema>;
