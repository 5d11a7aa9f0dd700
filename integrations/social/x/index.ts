/**
 * X (API v2 and the Ads API). Objects:
 * - `metrics` in: the account's `public_metrics` (followers, following, posts, lists) and each recent
 *   post's (`/2/users/{id}/tweets`), counts as of now with no history at X, so rows of the pull's day.
 * - `mentions` in: `/2/users/{id}/mentions`, newest first with `pagination_token`, then from `since_id`
 *   (the newest id of the previous complete run). An edited post is a new post whose edit history
 *   starts with the original id, which is the record's identity (`original_id`). Posts of others cannot
 *   be deleted, so delete() refuses.
 * - `custom_audience` out: hashed members through the Ads API's custom audience users endpoint
 *   (OAuth 1.0a user context); erasure removes the member.
 */
import { z, type ZodType } from 'zod';
import {
  IntegrationError,
  checkConnection,
  type Connector,
  type ConnectorContext,
  type ConnectorModule,
  type PullPage,
  type PushResult,
  type RateLimitObservation,
  type VendorRecord,
} from '../../connector';
import { VendorHttp, defaultRateLimit, resetSecondsToMs, strip } from '../../http/vendor-http';
import { parseConfig } from '../../marketing/shared/config';
import { decodeCursor, encodeCursor } from '../../marketing/shared/cursor';
import { pullInsights } from '../insights';
import { hashMembers, normalizeEmail, sha256, type HashedMember } from '../meta/audience';
import { xConfigSchema, type XConfig } from './config';
import { oauth1Header } from '../../http/oauth1';
import { xUserSession } from './oauth2';
import { verifyXWebhook, xCrc } from './webhook';

export { xConfigSchema, type XConfig } from './config';

const cursorSchema = z.object({
  since: z.string().nullable(),
  run: z.object({ newest: z.string().nullable(), token: z.string() }).nullable(),
});

interface Post {
  id: string;
  text?: string;
  author_id?: string;
  created_at?: string;
  edit_history_post_ids?: string[];
  edit_history_tweet_ids?: string[];
}

interface PostsPage {
  data?: Post[];
  meta?: { result_count?: number; newest_id?: string; oldest_id?: string; next_token?: string };
}

const newer = (a: string | null, b: string | undefined) =>
  b === undefined ? a : a === null || BigInt(b) > BigInt(a) ? b : a;

/** `x-rate-limit-limit/remaining/reset` (reset in epoch seconds) of each 15-minute window. */
export function xRateLimit(headers: Headers, now: number): RateLimitObservation {
  const base = defaultRateLimit(headers, now);
  const number = (name: string) => (headers.get(name) === null ? undefined : Number(headers.get(name)));
  return strip({
    ...base,
    limit: number('x-rate-limit-limit') ?? base.limit,
    remaining: number('x-rate-limit-remaining') ?? base.remaining,
    resetMs: resetSecondsToMs(number('x-rate-limit-reset'), now) ?? base.resetMs,
  });
}

function problemMessage(body: unknown): string | undefined {
  const b = body as { title?: string; detail?: string; errors?: { message?: string }[] } | undefined;
  if (!b || typeof b !== 'object') return typeof body === 'string' ? body.slice(0, 300) : undefined;
  return [b.title, b.detail, ...(b.errors ?? []).map((e) => e.message)].filter(Boolean).join(': ') || undefined;
}

class XConnector implements Connector {
  private readonly api: VendorHttp;
  private readonly ads: VendorHttp;

  constructor(
    private readonly config: XConfig,
    private readonly context: ConnectorContext,
  ) {
    const common = { integration: 'x', context, parseRateLimit: xRateLimit, errorMessage: problemMessage };
    if (config.clientId) {
      // User context (OAuth 2.0 with PKCE): a 401 means the access token was revoked or expired early.
      const session = xUserSession(config, context);
      let used: string | undefined;
      this.api = new VendorHttp({
        ...common,
        baseUrl: config.baseUrl,
        auth: async () => ({ authorization: `Bearer ${(used = await session.accessToken())}` }),
        onUnauthorized: async () => {
          if (used) await session.rejected(used);
          return true;
        },
      });
    } else {
      this.api = new VendorHttp({
        ...common,
        baseUrl: config.baseUrl,
        auth: () => ({ authorization: `Bearer ${config.bearerToken}` }),
      });
    }
    this.ads = new VendorHttp({
      ...common,
      baseUrl: `${config.adsBaseUrl.replace(/\/+$/, '')}/${config.adsApiVersion}`,
    });
  }

  private now(): number {
    return this.context.now?.() ?? Date.now();
  }

  test() {
    return checkConnection(async () => {
      const user = await this.api.json<{ data?: { username?: string } }>({ path: `/2/users/${this.config.userId}` });
      return `connected as @${user.data?.username ?? this.config.userId}`;
    });
  }

  private requireObject(object: string, allowed: string): void {
    if (object !== allowed)
      throw new IntegrationError(
        'x',
        'invalid_config',
        `unknown object "${object}": x pulls mentions and metrics and pushes custom_audience`,
      );
  }

  private pullMetrics(cursor: string | null): Promise<PullPage> {
    const dims = { user_id: this.config.userId };
    // Counts now: re-reading past days gives nothing, so no look-back.
    return pullInsights('x', cursor, this.now(), { lookBackDays: 0, firstDays: 0 }, async (window) => {
      const user = await this.api.json<{ data?: { public_metrics?: Record<string, unknown> } }>({
        path: `/2/users/${this.config.userId}`,
        query: { 'user.fields': 'public_metrics' },
      });
      window.add(window.today, dims, user.data?.public_metrics ?? {});
      const posts = await this.api.json<{ data?: { id: string; public_metrics?: Record<string, unknown> }[] }>({
        path: `/2/users/${this.config.userId}/tweets`,
        query: { max_results: this.config.insightPosts, 'post.fields': 'public_metrics,created_at' },
      });
      for (const post of posts.data ?? [])
        window.add(window.today, { ...dims, post_id: post.id }, post.public_metrics ?? {});
    });
  }

  async pull(object: string, cursor: string | null): Promise<PullPage> {
    if (object === 'metrics') return this.pullMetrics(cursor);
    this.requireObject(object, 'mentions');
    const state = decodeCursor('x', cursor, cursorSchema, { since: null, run: null });
    const page = await this.api.json<PostsPage>({
      path: `/2/users/${this.config.userId}/mentions`,
      query: {
        max_results: this.config.pageSize,
        since_id: state.since,
        pagination_token: state.run?.token,
        'post.fields': 'created_at,conversation_id,lang',
      },
    });
    const newest = newer(state.run?.newest ?? null, page.meta?.newest_id);
    const token = page.meta?.next_token;
    const records = (page.data ?? []).map((post) => ({
      ...post,
      original_id: (post.edit_history_post_ids ?? post.edit_history_tweet_ids)?.[0] ?? post.id,
    }));
    // since_id moves only once the run has read back to it: pages go from the newest post down.
    const next = token ? { since: state.since, run: { newest, token } } : { since: newest ?? state.since, run: null };
    return { records, deletedIds: [], cursor: encodeCursor(next), done: !token };
  }

  async delete(object: string): Promise<void> {
    throw new IntegrationError(
      'x',
      'invalid_config',
      `X does not support deleting "${object}": mentions are other accounts' posts`,
    );
  }

  private audiencePath(): string {
    if (!this.config.adsAccountId || !this.config.audienceId)
      throw new IntegrationError(
        'x',
        'invalid_config',
        'adsAccountId and audienceId are required to push to a custom audience',
      );
    if (!this.config.accessToken || !this.config.accessTokenSecret)
      throw new IntegrationError(
        'x',
        'invalid_config',
        'the Ads API needs accessToken and accessTokenSecret (OAuth 1.0a user context)',
      );
    return `/accounts/${this.config.adsAccountId}/custom_audiences/${this.config.audienceId}/users`;
  }

  private async operation(type: 'Update' | 'Delete', members: readonly HashedMember[]): Promise<number> {
    const path = this.audiencePath();
    const url = new URL(`${this.ads.baseUrl}${path}`);
    const credentials = {
      consumerKey: this.config.consumerKey,
      consumerSecret: this.config.consumerSecret,
      token: this.config.accessToken!,
      tokenSecret: this.config.accessTokenSecret!,
    };
    let success = 0;
    for (let start = 0; start < members.length; start += this.config.audienceBatchSize) {
      const users = members
        .slice(start, start + this.config.audienceBatchSize)
        .map((m) => ({ email: [m.email], ...(m.phone ? { phone_number: [m.phone] } : {}) }));
      // Each attempt is signed afresh (a new nonce and timestamp); an Update or Delete repeated changes nothing.
      const answer = await this.ads.json<{ data?: { success_count?: number } }>({
        method: 'POST',
        path,
        json: [{ operation_type: type, params: { users } }],
        headers: { authorization: oauth1Header('POST', url, credentials) },
      });
      success += answer.data?.success_count ?? users.length;
    }
    return success;
  }

  async push(object: string, records: readonly VendorRecord[]): Promise<PushResult> {
    this.requireObject(object, 'custom_audience');
    const { members, failed } = hashMembers(records);
    if (members.length === 0) return { upserted: 0, failed };
    const success = await this.operation('Update', members);
    if (success < members.length)
      failed.push({
        key: `${members.length - success} of ${members.length}`,
        reason: 'X did not accept these users (success_count)',
      });
    return { upserted: success, failed };
  }

  async erase(email: string): Promise<void> {
    const normalized = normalizeEmail(email);
    if (!normalized) throw new IntegrationError('x', 'invalid_config', 'erase needs an email address');
    await this.operation('Delete', [{ key: normalized, email: sha256(normalized) }]);
  }
}

export const x: ConnectorModule<XConfig> = {
  system: 'x',
  family: 'social',
  configSchema: xConfigSchema as unknown as ZodType<XConfig>,
  create: (config, context = {}) => new XConnector(parseConfig('x', xConfigSchema, config), context),
  verifyWebhook: (config, request) => verifyXWebhook(config, request),
  webhookHandshake: (config, request) => xCrc(config, request),
};
