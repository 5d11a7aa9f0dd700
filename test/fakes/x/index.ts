/**
 * A local X for tests and the demo, one port for both hosts: API v2 (`GET /2/users/{id}` and
 * `/2/users/{id}/mentions` newest first with `max_results`, `pagination_token`, `since_id`; app-only
 * Bearer auth; `x-rate-limit-*` headers; problem+json errors), every v2 request checked against the
 * OpenAPI description in vendor-specs (violations()), and the Ads API's custom audience users endpoint
 * (`POST /12/accounts/{account}/custom_audiences/{audience}/users`, OAuth 1.0a signatures checked,
 * `Update`/`Delete` operations of hashed users). touch() edits a mention: X gives the edit a new id
 * and lists the original first in `edit_history_post_ids`. Helpers sign Account Activity deliveries.
 */
import type { Fake } from '@data-sync/integrations/contract/connector-contract';
import {
  FakeSwitches,
  MARKETING_FRAMING,
  fakePerson,
  jsonBody,
  seededRandom,
  serveFake,
  type FakeRequest,
  type FakeResponse,
} from '@data-sync/integrations/contract/fake-kit';
import { sha256 } from '@data-sync/integrations/social/meta/audience';
import { oauth1Signature, parseOAuth1Header } from '@data-sync/integrations/http/oauth1';
import { xSignature } from '@data-sync/integrations/social/x/webhook';
import { X_OPENAPI_PRESENT, checkXRequest } from './openapi';

export interface FakePost {
  id: string;
  text: string;
  author_id: string;
  created_at: string;
  conversation_id: string;
  lang: string;
  edit_history_post_ids: string[];
}

export interface XFake extends Fake {
  readonly credentials: {
    bearerToken: string;
    userId: string;
    consumerKey: string;
    consumerSecret: string;
    accessToken: string;
    accessTokenSecret: string;
    adsAccountId: string;
    audienceId: string;
  };
  /** Latest version of each mention, by original id. */
  readonly mentions: Map<string, FakePost>;
  /** Audience members by email hash. */
  readonly audience: Map<string, Record<string, string[]>>;
  readonly removed: string[];
  /** Plain emails of the seeded audience members (for erasure tests). */
  readonly seededMembers: readonly string[];
  /** A mention posted now; returns it. */
  mention(text: string): FakePost;
  /** The Account Activity delivery announcing `post`, signed. */
  activityDelivery(post: FakePost): { body: Buffer; headers: Record<string, string> };
}

const PROBLEMS: Record<number, unknown> = {
  401: { title: 'Unauthorized', type: 'about:blank', status: 401, detail: 'Unauthorized' },
  429: { title: 'Too Many Requests', type: 'about:blank', status: 429, detail: 'Too Many Requests' },
};
const problem = (status: number) =>
  PROBLEMS[status] ?? { title: 'Service Unavailable', type: 'about:blank', status, detail: 'Service Unavailable' };

export async function startFakeX(
  options: { seed?: Readonly<Record<string, number>>; pageSize?: number } = {},
): Promise<XFake> {
  const credentials = {
    bearerToken: 'AAAAAAAAAAAAAAAAAAAAAFakeBearer',
    userId: '2244994945',
    consumerKey: 'xvz1evFS4wEEPTGEFPHBog',
    consumerSecret: 'kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw',
    accessToken: '370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb',
    accessTokenSecret: 'LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE',
    adsAccountId: '18ce54d4x5t',
    audienceId: '1nmth',
  };
  const switches = new FakeSwitches();
  const random = seededRandom(47);
  const mentions = new Map<string, FakePost>();
  const audience = new Map<string, Record<string, string[]>>();
  const removed: string[] = [];
  const violations: string[] = [];
  let nextId = 1_460_000_000_000_000_000n;
  let clock = Date.parse('2026-02-01T09:00:00Z');
  const window = { limit: 450, remaining: 450, reset: Math.floor(Date.now() / 1000) + 900 };

  const post = (text: string, original?: string): FakePost => {
    const id = String(nextId++);
    clock += 1000;
    const p: FakePost = {
      id,
      text,
      author_id: String(1_000_000 + Math.floor(random() * 1_000_000)),
      created_at: new Date(clock).toISOString(),
      conversation_id: id,
      lang: 'en',
      edit_history_post_ids: original ? [original, id] : [id],
    };
    mentions.set(original ?? id, p);
    return p;
  };
  for (let i = 0; i < (options.seed?.mentions ?? 0); i++) post(`@acme question number ${i}`);
  const seededMembers = Array.from({ length: 3 }, (_, i) => fakePerson(i, random).email);
  for (const email of seededMembers) audience.set(sha256(email), { email: [sha256(email)] });

  const timeline = () => [...mentions.values()].sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : -1));
  const pageSize = options.pageSize ?? 100;

  function listMentions(request: FakeRequest): FakeResponse {
    const q = request.url.searchParams;
    const max = Number(q.get('max_results') ?? pageSize);
    let items = timeline();
    const since = q.get('since_id');
    if (since) items = items.filter((p) => BigInt(p.id) > BigInt(since));
    const token = q.get('pagination_token');
    if (token) {
      const before = Buffer.from(token, 'base64url').toString('utf8');
      if (!/^\d+$/.test(before))
        return {
          status: 400,
          body: {
            title: 'Invalid Request',
            type: 'https://api.x.com/2/problems/invalid-request',
            detail: 'pagination_token is invalid',
          },
        };
      items = items.filter((p) => BigInt(p.id) < BigInt(before));
    }
    const page = items.slice(0, max);
    if (page.length === 0) return { status: 200, body: { meta: { result_count: 0 } } };
    const meta: Record<string, unknown> = {
      result_count: page.length,
      newest_id: page[0].id,
      oldest_id: page[page.length - 1].id,
    };
    if (items.length > max) meta.next_token = Buffer.from(page[page.length - 1].id).toString('base64url');
    return { status: 200, body: { data: page, meta } };
  }

  function audienceUsers(request: FakeRequest): FakeResponse {
    const oauth = parseOAuth1Header(String(request.headers.authorization ?? ''));
    const url = new URL(`${request.url.origin}${request.url.pathname}${request.url.search}`);
    const valid =
      oauth &&
      oauth.oauth_consumer_key === credentials.consumerKey &&
      oauth.oauth_token === credentials.accessToken &&
      oauth.oauth_signature_method === 'HMAC-SHA1' &&
      oauth.oauth_signature ===
        oauth1Signature('POST', url, oauth, credentials.consumerSecret, credentials.accessTokenSecret);
    if (switches.authRevoked || !valid)
      return {
        status: 401,
        body: {
          errors: [{ code: 'UNAUTHORIZED_ACCESS', message: 'This request is not properly authenticated' }],
          request: { params: {} },
        },
      };
    const ops = jsonBody(request) as { operation_type?: string; params?: { users?: Record<string, string[]>[] } }[];
    if (
      !Array.isArray(ops) ||
      ops.some((op) => !['Update', 'Delete'].includes(String(op.operation_type)) || !Array.isArray(op.params?.users))
    ) {
      return {
        status: 400,
        body: { errors: [{ code: 'INVALID_PARAMETER', message: 'operation_type and params.users are required' }] },
      };
    }
    let total = 0;
    let success = 0;
    for (const op of ops) {
      for (const user of op.params!.users!) {
        total++;
        const hash = user.email?.[0];
        if (!hash || !/^[0-9a-f]{64}$/.test(hash)) continue;
        success++;
        if (op.operation_type === 'Delete') {
          audience.delete(hash);
          removed.push(hash);
        } else if (!audience.has(hash)) audience.set(hash, user);
      }
    }
    return {
      status: 200,
      body: {
        request: { params: { account_id: credentials.adsAccountId, custom_audience_id: credentials.audienceId } },
        data: { success_count: success, total_count: total },
      },
    };
  }

  async function handle(request: FakeRequest): Promise<FakeResponse> {
    const path = request.url.pathname;
    if (
      path === `/12/accounts/${credentials.adsAccountId}/custom_audiences/${credentials.audienceId}/users` &&
      request.method === 'POST'
    )
      return audienceUsers(request);
    if (X_OPENAPI_PRESENT) violations.push(...checkXRequest(request.method, request.url));
    if (switches.authRevoked || request.headers.authorization !== `Bearer ${credentials.bearerToken}`)
      return { status: 401, headers: { 'content-type': 'application/problem+json' }, body: problem(401) };
    window.remaining = Math.max(0, window.remaining - 1);
    const headers = {
      'x-rate-limit-limit': String(window.limit),
      'x-rate-limit-remaining': String(window.remaining),
      'x-rate-limit-reset': String(window.reset),
    };
    if (request.method === 'GET' && path === `/2/users/${credentials.userId}`)
      return { status: 200, headers, body: { data: { id: credentials.userId, name: 'Acme', username: 'acme' } } };
    if (request.method === 'GET' && path === `/2/users/${credentials.userId}/mentions`)
      return { ...listMentions(request), headers };
    return {
      status: 404,
      headers,
      body: {
        title: 'Not Found Error',
        type: 'https://api.x.com/2/problems/resource-not-found',
        detail: `no route ${path}`,
      },
    };
  }

  const server = await serveFake(handle, { framing: MARKETING_FRAMING, faults: { switches, body: problem } });
  return {
    url: server.url,
    credentials,
    mentions,
    audience,
    removed,
    seededMembers,
    close: () => server.close(),
    failNext: (status, times, headers) => switches.failNext(status, times, headers),
    revokeAuth: () => switches.revokeAuth(),
    restoreAuth: () => switches.restoreAuth(),
    requestCount: () => switches.requestCount(),
    ...(X_OPENAPI_PRESENT ? { violations: () => [...violations] } : {}),
    ids: (object) =>
      object === 'mentions'
        ? [...mentions.keys()].sort()
        : object === 'custom_audience'
          ? [...audience.keys()].sort()
          : [],
    touch(object, id) {
      const current = mentions.get(id);
      if (object === 'mentions' && current) post(`${current.text} (edited)`, id);
    },
    snapshot: (object) =>
      object === 'custom_audience' ? [...audience.entries()].sort() : [...mentions.entries()].sort(),
    mention: (text) => post(text),
    activityDelivery(p) {
      const body = Buffer.from(
        JSON.stringify({
          for_user_id: credentials.userId,
          tweet_create_events: [
            { id_str: p.id, text: p.text, created_at: p.created_at, user: { id_str: p.author_id } },
          ],
        }),
      );
      return {
        body,
        headers: {
          'content-type': 'application/json',
          'x-twitter-webhooks-signature': xSignature(credentials.consumerSecret, body),
        },
      };
    },
  };
}
