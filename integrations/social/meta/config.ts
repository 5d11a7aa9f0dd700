import { z } from 'zod';

/** One config shape for the Meta Graph connectors (Facebook Page, Instagram professional account). */
export const metaConfigSchema = z
  .object({
    /** Long-lived Page access token (it does not expire while the app keeps its permissions). */
    accessToken: z.string().min(1, 'accessToken is required'),
    /** App secret: signs `appsecret_proof`, webhook deliveries (X-Hub-Signature-256) and `signed_request`. */
    appSecret: z.string().min(1, 'appSecret is required'),
    /** The Page whose Lead Ads forms are read (Instagram Lead Ads use the linked Page's forms too). */
    pageId: z.string().regex(/^\d+$/, 'pageId must be a numeric Graph id'),
    /** Lead forms to read; default every form of the Page. */
    formIds: z.array(z.string().regex(/^\d+$/, 'form ids are numeric Graph ids')).default([]),
    /** Customer-list Custom Audience that contacts are pushed to as hashed members; without it push is refused. */
    audienceId: z.string().regex(/^\d+$/, 'audienceId must be a numeric Graph id').optional(),
    /** The string Meta echoes in the webhook subscription handshake (`hub.verify_token`). */
    verifyToken: z.string().min(8, 'verifyToken must be at least 8 characters').optional(),
    /** Where a data deletion request's status is shown; the confirmation code is appended as `?code=`. */
    deletionStatusUrl: z.string().url().optional(),
    /** Graph API version (path prefix). */
    apiVersion: z
      .string()
      .regex(/^v\d+\.0$/, 'apiVersion looks like v21.0')
      .default('v21.0'),
    /** Override of https://graph.facebook.com (tests, demo). */
    baseUrl: z.string().url().default('https://graph.facebook.com'),
    /** Leads per page (`limit`). */
    pageSize: z.number().int().min(1).max(500).default(100),
    /** Members per /users call (Meta's maximum is 10,000). */
    audienceBatchSize: z.number().int().min(1).max(10_000).default(10_000),
    /** Page insights read per day (`period=day`) into metrics_daily (Facebook). */
    pageMetrics: z
      .array(z.string().regex(/^[a-z_]+$/))
      .default(['page_media_view', 'page_post_engagements', 'page_daily_follows_unique']),
    /** Lifetime insights of each recent Page post (Facebook). */
    postMetrics: z.array(z.string().regex(/^[a-z_]+$/)).default(['post_media_view', 'post_clicks']),
    /** Instagram account insights read per day (`period=day`). */
    instagramMetrics: z.array(z.string().regex(/^[a-z_]+$/)).default(['reach', 'follower_count']),
    /** Lifetime insights of each recent Instagram media object. */
    mediaMetrics: z.array(z.string().regex(/^[a-z_]+$/)).default(['reach', 'likes', 'comments', 'saved', 'shares']),
    /** Most recent posts (or media) whose lifetime insights each metrics pull reads; 0 reads none. */
    insightItems: z.number().int().min(0).max(100).default(25),
    /** Days of insights re-read behind the last pulled day (Meta revises recent days). */
    insightsLookBackDays: z.number().int().min(0).max(30).default(3),
    /** Days of insights the first metrics pull reads (Meta serves 90 days per call). */
    insightsFirstDays: z.number().int().min(0).max(89).default(30),
  })
  .strict();

export type MetaConfig = z.infer<typeof metaConfigSchema>;
