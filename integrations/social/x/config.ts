import { z } from 'zod';

export const xConfigSchema = z
  .object({
    /** App-only Bearer token: reads (users, mentions) on API v2 when no OAuth 2.0 user context is configured. */
    bearerToken: z.string().min(1).optional(),
    /** OAuth 2.0 client id: with it, API v2 reads use the account's user token (Authorization Code with PKCE). */
    clientId: z.string().min(1).optional(),
    /** OAuth 2.0 client secret of a confidential client (Basic auth at the token endpoint); public clients have none. */
    clientSecret: z.string().min(1).optional(),
    /** A refresh token to start from; the authorization flow stores one instead, and X rotates it on every use. */
    refreshToken: z.string().min(1).optional(),
    /** Override of https://api.x.com/2/oauth2/token (tests, demo). */
    tokenUrl: z.string().url().default('https://api.x.com/2/oauth2/token'),
    /** The runtime's `<public URL>/oauth/x/callback` (the stack output `x_oauth_callback_url`), registered as the X app's callback URI. */
    redirectUri: z
      .string()
      .url()
      .refine((uri) => new URL(uri).pathname === '/oauth/x/callback', 'redirectUri ends with /oauth/x/callback')
      .optional(),
    /** Override of https://x.com/i/oauth2/authorize (tests, demo). */
    authorizeUrl: z.string().url().default('https://x.com/i/oauth2/authorize'),
    /** The account whose mentions are read and whose Account Activity webhooks arrive. */
    userId: z.string().regex(/^[0-9]{1,19}$/, 'userId is a numeric X user id'),
    /** Consumer (API) key and secret: the secret answers CRC checks and verifies webhook signatures. */
    consumerKey: z.string().min(1, 'consumerKey is required'),
    consumerSecret: z.string().min(1, 'consumerSecret is required'),
    /** OAuth 1.0a access token and secret of the ads account user (the Ads API requires user context). */
    accessToken: z.string().min(1).optional(),
    accessTokenSecret: z.string().min(1).optional(),
    /** Ads account and customer-list custom audience pushed to; without them push is refused. */
    adsAccountId: z
      .string()
      .regex(/^[0-9a-z]+$/, 'adsAccountId is the ads account id')
      .optional(),
    audienceId: z
      .string()
      .regex(/^[0-9a-z]+$/, 'audienceId is the custom audience id')
      .optional(),
    /** Override of https://api.x.com (tests, demo). */
    baseUrl: z.string().url().default('https://api.x.com'),
    /** Override of https://ads-api.x.com (tests, demo). */
    adsBaseUrl: z.string().url().default('https://ads-api.x.com'),
    /** Ads API version (path prefix). */
    adsApiVersion: z.string().regex(/^\d+$/).default('12'),
    /** Mentions per page (`max_results`, 5-100). */
    pageSize: z.number().int().min(5).max(100).default(100),
    /** Most recent posts of the account whose public metrics each metrics pull reads (`max_results`, 5-100). */
    insightPosts: z.number().int().min(5).max(100).default(100),
    /** Users per custom audience operation (X takes up to 2500). */
    audienceBatchSize: z.number().int().min(1).max(2500).default(2500),
  })
  .strict()
  .refine((c) => c.bearerToken || c.clientId, {
    message: 'bearerToken (app-only) or clientId (OAuth 2.0 user context) is required',
    path: ['bearerToken'],
  });

export type XConfig = z.infer<typeof xConfigSchema>;
