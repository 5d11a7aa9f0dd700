import { z } from 'zod';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a YYYY-MM-DD date');

export const mixpanelConfigSchema = z
  .object({
    /** Service account username and secret: HTTP Basic auth of the Export, Import and Query APIs. */
    serviceAccountUsername: z.string().min(1, 'serviceAccountUsername is required'),
    serviceAccountSecret: z.string().min(1, 'serviceAccountSecret is required'),
    /** Numeric project id, sent as `project_id` with service-account calls. */
    projectId: z.number().int().positive(),
    /** Project token: `$token` of Engage updates and `token` of the GDPR API. */
    projectToken: z.string().min(1, 'projectToken is required'),
    /** OAuth token of the GDPR/CCPA data deletion API (a project owner's); without it erase() is refused. */
    gdprToken: z.string().min(1).optional(),
    /** Data residency: US (default), EU or India hosts. */
    region: z.enum(['us', 'eu', 'in']).default('us'),
    /** Override of every Mixpanel host (tests, demo); production leaves it unset. */
    baseUrl: z.string().url().optional(),
    /** First day of a full sync; default 30 days before it starts. */
    startDate: day.optional(),
    /** Days read per export call, i.e. per page. */
    daysPerPage: z.number().int().min(1).max(31).default(1),
    /** Days before today that each incremental pull reads again for late events (/track takes events up to 5 days old). */
    lookBackDays: z.number().int().min(0).max(60).default(5),
    /** Events per /import call (Mixpanel's maximum is 2000, and 2 MB). */
    importBatchSize: z.number().int().min(1).max(2000).default(2000),
    /** How long a 429 of the Raw Export API waits (its limit is 60 queries per hour). */
    exportRetryAfterMs: z.number().int().min(0).default(60_000),
  })
  .strict();

export type MixpanelConfig = z.infer<typeof mixpanelConfigSchema>;

const HOSTS = {
  us: { data: 'https://data.mixpanel.com', api: 'https://api.mixpanel.com', app: 'https://mixpanel.com' },
  eu: { data: 'https://data-eu.mixpanel.com', api: 'https://api-eu.mixpanel.com', app: 'https://eu.mixpanel.com' },
  in: { data: 'https://data-in.mixpanel.com', api: 'https://api-in.mixpanel.com', app: 'https://in.mixpanel.com' },
} as const;

/** The export (data), ingestion (api) and application (query, GDPR) hosts of the project's residency. */
export function mixpanelHosts(config: MixpanelConfig): { data: string; api: string; app: string } {
  if (config.baseUrl) return { data: config.baseUrl, api: config.baseUrl, app: config.baseUrl };
  return HOSTS[config.region];
}
