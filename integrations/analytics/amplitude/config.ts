import { z } from 'zod';

export const amplitudeConfigSchema = z
  .object({
    /** Project API key: Basic auth user of the Export and User Privacy APIs, `api_key` of uploads. */
    apiKey: z.string().min(1, 'apiKey is required'),
    /** Project secret key: Basic auth password of the Export and User Privacy APIs. */
    secretKey: z.string().min(1, 'secretKey is required'),
    /** Data residency: US (default) or EU hosts. */
    region: z.enum(['us', 'eu']).default('us'),
    /** Override of every Amplitude host (tests, demo); production leaves it unset. */
    baseUrl: z.string().url().optional(),
    /** First day of a full sync (by upload time); default 30 days before it starts. */
    startDate: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'startDate must be a YYYY-MM-DD date')
      .optional(),
    /** Upload hours per export call, i.e. per page (an export may hold at most 365 days and 4 GB). */
    hoursPerPage: z
      .number()
      .int()
      .min(1)
      .max(24 * 31)
      .default(24),
    /** Hours after the end of an upload hour before its export is complete (Amplitude: at least 2). */
    lagHours: z.number().int().min(0).max(48).default(2),
    /** Upload endpoint: the Batch Event Upload API (default) or HTTP V2. */
    uploadApi: z.enum(['batch', 'httpapi']).default('batch'),
    /** Events per upload request (Amplitude: fewer than 2000 and under 1 MB for HTTP V2). */
    uploadBatchSize: z.number().int().min(1).max(2000).default(1000),
    /** Pause after a 429 for throttled devices or users (Amplitude asks for 30 seconds). */
    throttleWaitMs: z.number().int().min(0).default(30_000),
    /** `requester` recorded on deletion jobs. */
    requester: z.string().min(1).default('data-sync-service'),
  })
  .strict();

export type AmplitudeConfig = z.infer<typeof amplitudeConfigSchema>;

const HOSTS = {
  us: { app: 'https://amplitude.com', ingest: 'https://api2.amplitude.com' },
  eu: { app: 'https://analytics.eu.amplitude.com', ingest: 'https://api.eu.amplitude.com' },
} as const;

/** The export/privacy (app) and upload (ingest) hosts of the project's residency. */
export function amplitudeHosts(config: AmplitudeConfig): { app: string; ingest: string } {
  if (config.baseUrl) return { app: config.baseUrl, ingest: config.baseUrl };
  return HOSTS[config.region];
}
