import { z } from 'zod';

/** Klaviyo's names for the catalog's metric objects; override or add with `metrics`. */
export const DEFAULT_METRIC_NAMES: Readonly<Record<string, string>> = {
  email_open: 'Opened Email',
  email_click: 'Clicked Email',
  purchase: 'Placed Order',
};

export const klaviyoConfigSchema = z
  .object({
    /** Private API key (pk_…), sent as `Authorization: Klaviyo-API-Key <key>`. */
    apiKey: z.string().min(8, 'apiKey must be a Klaviyo private API key'),
    /** Override of the API host (tests, demo); production leaves it at https://a.klaviyo.com. */
    baseUrl: z.string().url().default('https://a.klaviyo.com'),
    /**
     * API revision sent in the `revision` header; the shapes this connector reads are those of this
     * revision. Klaviyo retires a revision two years after its release (calls then answer 410).
     */
    revision: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}(\.pre)?$/, 'revision must look like 2026-07-15')
      .default('2026-07-15'),
    /** Profiles per page (Klaviyo allows up to 100); events pages take up to 200. */
    pageSize: z.number().int().min(1).max(100).default(100),
    /** Metric ids by object name; objects not listed are looked up by their metric name. */
    metrics: z.record(z.string().min(1)).default({}),
    /** Metric names by object name, for the lookup. */
    metricNames: z.record(z.string().min(1)).default({ ...DEFAULT_METRIC_NAMES }),
    /** List that bulk-imported profiles are added to. */
    listId: z.string().min(1).optional(),
    /** Pushes of at least this many profiles use a bulk import job instead of one profile-import call each. */
    bulkThreshold: z.number().int().min(1).default(100),
    /** Profiles per bulk import job (Klaviyo's maximum is 10,000). */
    bulkSize: z.number().int().min(1).max(10_000).default(10_000),
    bulkPollMs: z.number().int().min(1).default(2000),
    bulkTimeoutMs: z
      .number()
      .int()
      .min(1)
      .default(30 * 60_000),
    /**
     * Caps on the profile endpoints' budget (burst per second, steady per minute; Klaviyo documents
     * 75/750 for them). Every other endpoint keeps its own documented, lower budget.
     */
    burstPerSecond: z.number().min(0.1).default(75),
    steadyPerMinute: z.number().min(1).default(750),
    /** Secret of the system webhook (Klaviyo-Signature is an HMAC-SHA256 with it). */
    webhookSecret: z.string().min(16, 'webhookSecret must be at least 16 characters').optional(),
    /** When set, deliveries for another webhook id are refused. */
    webhookId: z.string().min(1).optional(),
    webhookToleranceMs: z
      .number()
      .int()
      .min(1000)
      .default(5 * 60_000),
  })
  .strict();

export type KlaviyoConfig = z.infer<typeof klaviyoConfigSchema>;
