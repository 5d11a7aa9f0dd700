import { z } from 'zod';

/** `<key>-<dc>`: Mailchimp API keys end with the data centre that serves the account. */
const API_KEY = /^[0-9A-Za-z]+-([a-z]+[0-9]+)$/;

export const mailchimpConfigSchema = z
  .object({
    apiKey: z.string().regex(API_KEY, 'apiKey must be a Mailchimp API key ending with its data centre, e.g. "…-us6"'),
    /** Override of the API host (tests, demo); production leaves it unset: https://<dc>.api.mailchimp.com. */
    baseUrl: z.string().url().optional(),
    /** Audience (list) ids by the names used as sync objects; unnamed lists are looked up by name. */
    lists: z.record(z.string().min(1)).default({}),
    /** Status given to members created by a push (existing members keep theirs). */
    statusIfNew: z.enum(['subscribed', 'pending', 'unsubscribed', 'transactional']).default('subscribed'),
    /** Members per page (Mailchimp's maximum `count` is 1000). */
    pageSize: z.number().int().min(1).max(1000).default(1000),
    /** Simultaneous connections per API key (Mailchimp allows 10). */
    maxConnections: z.number().int().min(1).max(10).default(10),
    /** Pushes of at least this many records go through POST /batches instead of one PUT each. */
    batchThreshold: z.number().int().min(1).default(500),
    /** Operations per batch request. */
    batchSize: z.number().int().min(1).max(10_000).default(1000),
    batchPollMs: z.number().int().min(1).default(2000),
    batchTimeoutMs: z
      .number()
      .int()
      .min(1)
      .default(30 * 60_000),
    /** Secret expected in the webhook URL's `secret` query parameter (Mailchimp does not sign deliveries). */
    webhookSecret: z.string().min(16, 'webhookSecret must be at least 16 characters').optional(),
    /**
     * Deliveries whose fired_at is further off are refused. Mailchimp retries for 75 minutes, and the
     * time zone of fired_at is not documented, so the default also spans any UTC offset (±14 h).
     */
    webhookMaxAgeMs: z
      .number()
      .int()
      .min(60_000)
      .default(26 * 60 * 60_000),
  })
  .strict();

export type MailchimpConfig = z.infer<typeof mailchimpConfigSchema>;

export function dataCentre(apiKey: string): string {
  const match = API_KEY.exec(apiKey);
  if (!match) throw new Error('Mailchimp apiKey has no data-centre suffix');
  return match[1];
}

/** The API root, `https://<dc>.api.mailchimp.com/3.0` unless overridden. */
export function apiRoot(config: MailchimpConfig): string {
  return `${(config.baseUrl ?? `https://${dataCentre(config.apiKey)}.api.mailchimp.com`).replace(/\/+$/, '')}/3.0`;
}
