/**
 * A local X for tests and the demo, one port for both hosts: API v2 (`GET /2/users/{id}` and
 * `/2/users/{id}/mentions` newest first with `max_results`, `pagination_token`, `since_id`; app-only
 * Bearer auth; `x-rate-limit-*` headers; problem+json errors), every v2 request checked against the
 * OpenAPI description in vendor-specs (violations()), and the Ads API's custom audience users endpoint
 * (`POST /12/accounts/{account}/custom_audiences/{audience}/users`, OAuth 1.0a signatures checked,
 * `Update`/`Delete` operations of hashed users). touch() edits a mention: X gives the edit a new id
 * and lists the original first in `edit_history_post_ids`. Helpers sign Account Activity deliveries.
 * Metrics: `user.fields=public_metrics` on `/2/users/{id}` and the account's own posts at
 * `/2/users/{id}/tweets` (newest first, `max_results`) with `post.fields=public_metrics`. OAuth 2.0:
 * `GET /i/oauth2/authorize` stands for the person approving (a 302 to `redirect_uri` with `code` and
 * `state`; with `oauth2.declining` set, with `error=access_denied` instead), `POST /2/oauth2/token`
 * (the app's HTTP Basic client authentication, as X asks of confidential clients) exchanges a code once,
 * for the client and redirect URI it was issued to, against its PKCE verifier (S256 or plain, as X
 * allows; a wrong verifier is `invalid_grant`, RFC 7636 4.6), and refreshes, rotating refresh tokens
 * (each works once); user access tokens last 2 hours.
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
import { randomBytes } from 'crypto';
import { sha256 } from '@data-sync/integrations/social/meta/audience';
import { s256 } from '@data-sync/integrations/social/x/oauth2';
import { oauth1Signature, parseOAuth1Header } from '@data-sync/integrations/http/oauth1';
import { xSignature } from '@data-sync/integrations/social/x/webhook';
import { insightValue } from '../meta';
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
  /**
   * OAuth 2.0: the app's client (kept out of `credentials`, which configure app-only reads), what each
   * authorization asked for, refresh tokens issued (in order) and those already used.
   */
  readonly oauth2: {
    readonly clientId: string;
    readonly clientSecret: string;
    readonly authorizations: { codeChallengeMethod: string; scope: string; redirectUri: string }[];
    readonly refreshTokens: string[];
    readonly usedRefreshTokens: Set<string>;
    readonly accessTokens: Set<string>;
    /** While true, the person declines: the authorize endpoint redirects with `error=access_denied`. */
    declining: boolean;
  };
  /** Latest version of each mention, by original id. */
  readonly mentions: Map<string, FakePost>;
  /** Audience members by email hash. */
  readonly audience: Map<string, Record<string, string[]>>;
  readonly removed: string[];
  /** Plain emails of the seeded audience members (for erasure tests). */
  readonly seededMembers: readonly string[];
  /** The account's `public_metrics` now; tests change them. */
  readonly userMetrics: { followers_count: number; following_count: number; post_count: number; listed_count: number };
  /** The account's own posts, newest first, with their `public_metrics`. */
  readonly ownPosts: { id: string; created_at: string; text: string; public_metrics: Record<string, number> }[];
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
  const oauth2 = {
    clientId: 'M1M5R3BMVy13QmpScXkzTUt5OE46MTpjaQ',
    clientSecret: 'fake-oauth2-client-secret',
    authorizations: [] as { codeChallengeMethod: string; scope: string; redirectUri: string }[],
    refreshTokens: [] as string[],
    usedRefreshTokens: new Set<string>(),
    accessTokens: new Set<string>(),
    declining: false,
  };
  const codes = new Map<
    string,
    { challenge: string; method: string; redirectUri: string; scope: string; clientId: string }
  >();
  const token = (prefix: string) => `${prefix}${randomBytes(18).toString('base64url')}`;
  const oauthError = (error: string, description: string): FakeResponse => ({
    status: 400,
    body: { error, error_description: description },
  });

  function authorize(request: FakeRequest): FakeResponse {
    const q = request.url.searchParams;
    const redirect = q.get('redirect_uri');
    const challenge = q.get('code_challenge');
    const method = q.get('code_challenge_method') ?? 'plain';
    if (
      q.get('response_type') !== 'code' ||
      q.get('client_id') !== oauth2.clientId ||
      !redirect ||
      !q.get('state') ||
      !challenge ||
      !['S256', 'plain'].includes(method)
    )
      return { status: 400, body: { error: 'invalid_request', error_description: 'Missing or invalid parameters' } };
    const to = new URL(redirect);
    to.searchParams.set('state', q.get('state')!);
    if (oauth2.declining) {
      to.searchParams.set('error', 'access_denied');
      return { status: 302, headers: { location: to.toString() }, body: '' };
    }
    const code = token('code-');
    const scope = q.get('scope') ?? '';
    codes.set(code, { challenge, method, redirectUri: redirect, scope, clientId: oauth2.clientId });
    oauth2.authorizations.push({ codeChallengeMethod: method, scope, redirectUri: redirect });
    to.searchParams.set('code', code);
    return { status: 302, headers: { location: to.toString() }, body: '' };
  }

  function issue(scope: string): FakeResponse {
    const access = token('user-access-');
    oauth2.accessTokens.add(access);
    const body: Record<string, unknown> = { token_type: 'bearer', expires_in: 7200, access_token: access, scope };
    if (scope.split(' ').includes('offline.access')) {
      const refresh = token('refresh-');
      oauth2.refreshTokens.push(refresh);
      body.refresh_token = refresh;
    }
    return { status: 200, body };
  }

  const scopes = new Map<string, string>();
  function tokenEndpoint(request: FakeRequest): FakeResponse {
    const form = new URLSearchParams(request.body.toString('utf8'));
    const basic = `Basic ${Buffer.from(`${oauth2.clientId}:${oauth2.clientSecret}`).toString('base64')}`;
    if (request.headers.authorization !== basic || form.get('client_id') !== oauth2.clientId)
      return {
        status: 401,
        body: { error: 'unauthorized_client', error_description: 'Missing valid authorization header' },
      };
    if (form.get('grant_type') === 'authorization_code') {
      const code = codes.get(form.get('code') ?? '');
      const verifier = form.get('code_verifier') ?? '';
      if (!code || code.redirectUri !== form.get('redirect_uri') || code.clientId !== form.get('client_id'))
        return oauthError('invalid_request', 'Value passed for the authorization code was invalid.');
      // Spent by this attempt whatever its outcome: a code works once.
      codes.delete(form.get('code')!);
      if ((code.method === 'S256' ? s256(verifier) : verifier) !== code.challenge)
        return oauthError('invalid_grant', 'Value passed for the code verifier did not match the code challenge.');
      const answer = issue(code.scope);
      const refresh = (answer.body as { refresh_token?: string }).refresh_token;
      if (refresh) scopes.set(refresh, code.scope);
      return answer;
    }
    if (form.get('grant_type') === 'refresh_token') {
      const presented = form.get('refresh_token') ?? '';
      const scope = scopes.get(presented);
      if (switches.authRevoked || !scope || oauth2.usedRefreshTokens.has(presented))
        return oauthError('invalid_request', 'Value passed for the token was invalid.');
      oauth2.usedRefreshTokens.add(presented);
      const answer = issue(scope);
      scopes.set((answer.body as { refresh_token: string }).refresh_token, scope);
      return answer;
    }
    return oauthError('unsupported_grant_type', 'grant_type is not supported');
  }
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

  const userMetrics = { followers_count: 8800, following_count: 120, post_count: 3, listed_count: 14 };
  const POST_METRICS = [
    'repost_count',
    'reply_count',
    'like_count',
    'quote_count',
    'bookmark_count',
    'impression_count',
  ];
  const ownPosts = Array.from({ length: 3 }, (_, i) => {
    const id = String(1_450_000_000_000_000_000n - BigInt(i));
    return {
      id,
      created_at: new Date(Date.parse('2026-01-31T12:00:00Z') - i * 3_600_000).toISOString(),
      text: `Acme update ${i}`,
      edit_history_post_ids: [id],
      public_metrics: Object.fromEntries(POST_METRICS.map((m) => [m, insightValue(id, m)])),
    };
  });
  const fieldsOf = (request: FakeRequest, name: string) => (request.url.searchParams.get(name) ?? '').split(',');

  function listOwnPosts(request: FakeRequest): FakeResponse {
    const max = Number(request.url.searchParams.get('max_results') ?? 10);
    const withMetrics = fieldsOf(request, 'post.fields').includes('public_metrics');
    const data = ownPosts
      .slice(0, max)
      .map(({ public_metrics, ...post }) => (withMetrics ? { ...post, public_metrics } : post));
    return {
      status: 200,
      body: { data, meta: { result_count: data.length, newest_id: data[0]?.id, oldest_id: data[data.length - 1]?.id } },
    };
  }

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
    if (path === '/i/oauth2/authorize' && request.method === 'GET') return authorize(request);
    if (path === '/2/oauth2/token' && request.method === 'POST') return tokenEndpoint(request);
    if (X_OPENAPI_PRESENT) violations.push(...checkXRequest(request.method, request.url));
    const bearer = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ''))?.[1];
    if (switches.authRevoked || !bearer || (bearer !== credentials.bearerToken && !oauth2.accessTokens.has(bearer)))
      return { status: 401, headers: { 'content-type': 'application/problem+json' }, body: problem(401) };
    window.remaining = Math.max(0, window.remaining - 1);
    const headers = {
      'x-rate-limit-limit': String(window.limit),
      'x-rate-limit-remaining': String(window.remaining),
      'x-rate-limit-reset': String(window.reset),
    };
    if (request.method === 'GET' && path === `/2/users/${credentials.userId}`) {
      const user = { id: credentials.userId, name: 'Acme', username: 'acme' };
      const withMetrics = fieldsOf(request, 'user.fields').includes('public_metrics');
      return {
        status: 200,
        headers,
        body: { data: withMetrics ? { ...user, public_metrics: { ...userMetrics } } : user },
      };
    }
    if (request.method === 'GET' && path === `/2/users/${credentials.userId}/tweets`)
      return { ...listOwnPosts(request), headers };
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
    userMetrics,
    ownPosts,
    oauth2,
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
