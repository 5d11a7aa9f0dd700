import { z } from 'zod';

export const linkedinConfigSchema = z
  .object({
    /** OAuth 2.0 application: the client secret also answers webhook challenges and verifies X-LI-Signature. */
    clientId: z.string().min(1, 'clientId is required'),
    clientSecret: z.string().min(1, 'clientSecret is required'),
    /** Refresh token of the member who granted r_marketing_leadgen_automation and rw_dmp_segments (valid a year). */
    refreshToken: z.string().min(1, 'refreshToken is required'),
    /** The ad account whose Lead Gen Forms responses are read. */
    sponsoredAccountId: z.string().regex(/^\d+$/, 'sponsoredAccountId is the numeric ad account id'),
    /** Matched Audiences DMP segment pushed to; without it push is refused. */
    segmentId: z.string().regex(/^\d+$/, 'segmentId is the numeric DMP segment id').optional(),
    /** The Organization Page whose follower and share statistics are read; without it metrics are refused. */
    organizationId: z.string().regex(/^\d+$/, 'organizationId is the numeric organization id').optional(),
    /** Days of statistics re-read behind the last pulled day. */
    insightsLookBackDays: z.number().int().min(0).max(30).default(3),
    /** Days of statistics the first metrics pull reads. */
    insightsFirstDays: z.number().int().min(0).max(365).default(30),
    /** `LinkedIn-Version` header (YYYYMM). */
    version: z
      .string()
      .regex(/^\d{6}$/, 'version looks like 202610')
      .default('202610'),
    /** Override of https://api.linkedin.com (tests, demo). */
    baseUrl: z.string().url().default('https://api.linkedin.com'),
    /** Override of the token endpoint. */
    tokenUrl: z.string().url().default('https://www.linkedin.com/oauth/v2/accessToken'),
    /** Responses per page (`count`). */
    pageSize: z.number().int().min(1).max(1000).default(100),
    /** Members per segment batch. */
    audienceBatchSize: z.number().int().min(1).max(5000).default(5000),
    /** How long a 429 waits: LinkedIn sends no Retry-After. */
    throttleWaitMs: z.number().int().min(0).default(60_000),
  })
  .strict();

export type LinkedinConfig = z.infer<typeof linkedinConfigSchema>;
