/**
 * A local Meta Graph API for tests and the demo: a Page with Lead Ads forms (`/{page}/leadgen_forms`,
 * `/{form}/leads` newest first with `limit`, `after` cursors, `paging.next` and the `time_created`
 * `filtering`, `DELETE /{lead}`), customer-list Custom Audiences (`POST`/`DELETE /{audience}/users` with a
 * `payload` form field of `schema` and hashed `data` rows, answered with `num_received`), Bearer tokens
 * checked with `appsecret_proof`, Graph error bodies (code 190 for a bad token), and helpers that submit a
 * lead and build the signed webhook delivery Meta would send for it. touch() makes a lead appear later
 * (Meta can expose a lead after its webhook); there is no other way a lead changes. Insights: the Page's
 * and its linked Instagram account's `/{id}/insights` (`period=day`, `since` included, `until` excluded,
 * at most 90 days, each value's `end_time` 08:00 UTC closing its day), their follower counts as fields,
 * `/{page}/published_posts` and `/{ig}/media` newest first, and each post's or media's lifetime insights.
 */
import { createHmac } from 'crypto';
import type { Fake } from '@data-sync/integrations/contract/connector-contract';
import {
  FakeClock,
  FakeSwitches,
  MARKETING_FRAMING,
  fakePerson,
  seededRandom,
  serveFake,
  type FakeRequest,
  type FakeResponse,
} from '@data-sync/integrations/contract/fake-kit';
import { metaSignature } from '@data-sync/integrations/social/meta/webhook';

export interface FakeLead {
  id: string;
  form_id: string;
  created_time: string;
  platform: string;
  is_organic: boolean;
  ad_id: string;
  field_data: { name: string; values: string[] }[];
}

export interface MetaFakeOptions {
  readonly seed?: Readonly<Record<string, number>>;
  readonly pageSize?: number;
  /** Platform of seeded leads (`fb` or `ig`); default alternating. */
  readonly platform?: 'fb' | 'ig';
  /** Forms the seeded leads are spread over. @default 2 */
  readonly forms?: number;
  /** Customer-list audiences in the ad account (the first is `credentials.audienceId`). @default 1 */
  readonly audiences?: number;
}

export interface MetaFake extends Fake {
  readonly credentials: {
    accessToken: string;
    appSecret: string;
    pageId: string;
    audienceId: string;
    verifyToken: string;
  };
  readonly audienceIds: readonly string[];
  readonly leads: Map<string, FakeLead>;
  /** Members of each audience by email hash: the row of hashed keys as sent. */
  readonly audiences: Map<string, Map<string, string[]>>;
  /** Email hashes removed from an audience. */
  readonly removed: string[];
  /** Submits a lead as a person filling in the form would; returns it. */
  submitLead(
    person: { email: string; first_name?: string; last_name?: string; full_name?: string; phone_number?: string },
    platform?: 'fb' | 'ig',
  ): FakeLead;
  /** The Instagram professional account linked to the Page (`instagram_business_account`). */
  readonly instagramAccountId: string;
  /** Follower counts now, by node (the Page, the Instagram account); tests change them. */
  readonly followers: Map<string, number>;
  /** Posts of the Page and media of the Instagram account, newest first, by node. */
  readonly posts: Map<string, { id: string; created_time: string }[]>;
  /** The value the fake reports for `metric` of `node` on `day` (YYYY-MM-DD), or a lifetime value without day. */
  insightValue(node: string, metric: string, day?: string): number;
  /** The `leadgen` delivery Meta posts for `lead`, with its X-Hub-Signature-256. */
  leadgenDelivery(lead: FakeLead): { body: Buffer; headers: Record<string, string> };
}

const GRAPH_VERSION = /^\/v\d+\.0(\/.*)$/;
const DAY_MS = 86_400_000;

/** A deterministic count for (node, metric, day): the same question always gets the same answer. */
export function insightValue(node: string, metric: string, day = 'lifetime'): number {
  let h = 2166136261;
  for (const c of `${node}|${metric}|${day}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return h % 5000;
}

const INVALID_METRIC = (metric: string) => ({
  error: {
    message: `(#100) The value must be a valid insights metric: ${metric}`,
    type: 'OAuthException',
    code: 100,
    fbtrace_id: 'AFakeTrace',
  },
});

function graphError(status: number): unknown {
  if (status === 429)
    return {
      error: {
        message: 'Application request limit reached',
        type: 'OAuthException',
        code: 4,
        fbtrace_id: 'AFakeTrace',
      },
    };
  if (status === 400)
    return { error: { message: 'Invalid parameter', type: 'OAuthException', code: 100, fbtrace_id: 'AFakeTrace' } };
  return {
    error: {
      message: 'An unexpected error has occurred. Please retry your request later.',
      type: 'OAuthException',
      code: 2,
      is_transient: true,
      fbtrace_id: 'AFakeTrace',
    },
  };
}

const TOKEN_ERROR = {
  error: {
    message: 'Error validating access token: The session has been invalidated.',
    type: 'OAuthException',
    code: 190,
    error_subcode: 460,
    fbtrace_id: 'AFakeTrace',
  },
};

/** Meta's datetime format: `2026-01-05T08:00:00+0000`. */
const graphTime = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, '+0000');

export async function startFakeMeta(options: MetaFakeOptions = {}): Promise<MetaFake> {
  const credentials = {
    accessToken: 'EAAfakePageToken0123456789',
    appSecret: 'meta-app-secret-0123',
    pageId: '102030405060708',
    audienceId: '23850000000000001',
    verifyToken: 'meta-verify-token-42',
  };
  const proof = createHmac('sha256', credentials.appSecret).update(credentials.accessToken).digest('hex');
  const switches = new FakeSwitches();
  const clock = new FakeClock(Date.parse('2026-01-05T08:00:00Z'), 2);
  const random = seededRandom(31);
  const formIds = Array.from({ length: options.forms ?? 2 }, (_, i) => `90000000000000${i + 1}`);
  const leads = new Map<string, FakeLead>();
  const audienceIds = Array.from({ length: options.audiences ?? 1 }, (_, i) =>
    String(BigInt(credentials.audienceId) + BigInt(i)),
  );
  const audiences = new Map<string, Map<string, string[]>>(audienceIds.map((id) => [id, new Map()]));
  const removed: string[] = [];
  let nextLead = 1;
  let people = 0;
  const instagramAccountId = '17841400000000001';
  const followers = new Map([
    [credentials.pageId, 1200],
    [instagramAccountId, 3400],
  ]);
  const posts = new Map(
    [credentials.pageId, instagramAccountId].map((node, n) => [
      node,
      Array.from({ length: 3 }, (_, i) => ({
        id: n === 0 ? `${credentials.pageId}_${7000 + i}` : `1790000000000${100 + i}`,
        created_time: graphTime(new Date(Date.parse('2026-01-04T12:00:00Z') - i * DAY_MS)),
      })),
    ]),
  );
  const DAILY: Record<string, readonly string[]> = {
    [credentials.pageId]: ['page_media_view', 'page_post_engagements', 'page_daily_follows_unique', 'page_follows'],
    [instagramAccountId]: ['reach', 'follower_count', 'views'],
  };
  const LIFETIME: Record<string, readonly string[]> = {
    [credentials.pageId]: ['post_media_view', 'post_clicks', 'post_reactions_like_total'],
    [instagramAccountId]: ['reach', 'likes', 'comments', 'saved', 'shares', 'views', 'total_interactions'],
  };

  const addLead = (fields: Record<string, string | undefined>, platform: string, at: Date): FakeLead => {
    const id = String(3_000_000_000_000_000 + nextLead++);
    const lead: FakeLead = {
      id,
      form_id: formIds[(nextLead - 2) % formIds.length],
      created_time: graphTime(at),
      platform,
      is_organic: false,
      ad_id: '6000000000001',
      field_data: Object.entries(fields)
        .filter(([, v]) => v !== undefined)
        .map(([name, value]) => ({ name, values: [value!] })),
    };
    leads.set(id, lead);
    return lead;
  };
  for (let i = 0; i < (options.seed?.leads ?? 0); i++) {
    const person = fakePerson(people++, random);
    const platform = options.platform ?? (i % 2 === 0 ? 'fb' : 'ig');
    addLead(
      { email: person.email, full_name: `${person.firstName} ${person.lastName}`, phone_number: person.phone },
      platform,
      clock.next(),
    );
  }

  const pageSize = options.pageSize ?? 25;
  const newestFirst = (a: FakeLead, b: FakeLead) =>
    b.created_time.localeCompare(a.created_time) || b.id.localeCompare(a.id);
  const encode = (lead: FakeLead) => Buffer.from(JSON.stringify([lead.created_time, lead.id])).toString('base64url');

  function listLeads(request: FakeRequest, form: string): FakeResponse {
    const q = request.url.searchParams;
    const limit = Math.min(Number(q.get('limit') ?? pageSize), 500);
    if (!Number.isInteger(limit) || limit < 1) return { status: 400, body: graphError(400) };
    let items = [...leads.values()].filter((l) => l.form_id === form).sort(newestFirst);
    const filtering = q.get('filtering');
    if (filtering !== null) {
      let rules: { field: string; operator: string; value: number }[];
      try {
        rules = JSON.parse(filtering);
      } catch {
        return { status: 400, body: graphError(400) };
      }
      for (const rule of rules) {
        if (
          rule.field !== 'time_created' ||
          !['GREATER_THAN', 'LESS_THAN'].includes(rule.operator) ||
          typeof rule.value !== 'number'
        )
          return { status: 400, body: graphError(400) };
        const at = (l: FakeLead) => Date.parse(l.created_time.replace('+0000', 'Z')) / 1000;
        items = items.filter((l) => (rule.operator === 'GREATER_THAN' ? at(l) > rule.value : at(l) < rule.value));
      }
    }
    const after = q.get('after');
    if (after) {
      const [time, id] = JSON.parse(Buffer.from(after, 'base64url').toString('utf8')) as [string, string];
      items = items.filter((l) => l.created_time < time || (l.created_time === time && l.id < id));
    }
    const page = items.slice(0, limit);
    const fields = (q.get('fields') ?? 'id').split(',');
    const data = page.map((l) =>
      Object.fromEntries(fields.filter((f) => f in l).map((f) => [f, l[f as keyof FakeLead]])),
    );
    const paging = page.length
      ? {
          cursors: { before: encode(page[0]), after: encode(page[page.length - 1]) },
          ...(items.length > limit ? { next: nextLink(request, encode(page[page.length - 1])) } : {}),
        }
      : undefined;
    return { status: 200, body: { data, ...(paging ? { paging } : {}) } };
  }

  /** `/{node}/insights`: daily series over [since, until), or lifetime values of a post or media. */
  function insights(request: FakeRequest, node: string): FakeResponse {
    const q = request.url.searchParams;
    const metrics = (q.get('metric') ?? '').split(',').filter(Boolean);
    const owner = [...posts].find(([, items]) => items.some((p) => p.id === node))?.[0];
    const allowed = owner ? LIFETIME[owner] : DAILY[node];
    const period = q.get('period') ?? (owner ? 'lifetime' : 'day');
    if (!allowed || metrics.length === 0) return { status: 400, body: INVALID_METRIC(metrics[0] ?? '') };
    const unknown = metrics.find((m) => !allowed.includes(m));
    if (unknown) return { status: 400, body: INVALID_METRIC(unknown) };
    if (owner) {
      if (period !== 'lifetime') return { status: 400, body: graphError(400) };
      return {
        status: 200,
        body: {
          data: metrics.map((name) => ({
            name,
            period: 'lifetime',
            values: [{ value: insightValue(node, name) }],
            title: name,
            description: `Lifetime ${name}`,
            id: `${node}/insights/${name}/lifetime`,
          })),
        },
      };
    }
    const since = Number(q.get('since'));
    const until = Number(q.get('until'));
    if (period !== 'day' || !Number.isInteger(since) || !Number.isInteger(until) || until <= since)
      return { status: 400, body: graphError(400) };
    if (until - since > 90 * 86_400)
      return {
        status: 400,
        body: {
          error: {
            message: '(#100) There cannot be more than 90 days (7776000 s) between since and until',
            type: 'OAuthException',
            code: 100,
          },
        },
      };
    const days: string[] = [];
    for (let t = since * 1000; t < until * 1000; t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10));
    return {
      status: 200,
      body: {
        data: metrics.map((name) => ({
          name,
          period: 'day',
          values: days.map((day) => ({
            value: insightValue(node, name, day),
            end_time: graphTime(new Date(Date.parse(`${day}T08:00:00Z`) + DAY_MS)),
          })),
          title: name,
          description: `Daily ${name}`,
          id: `${node}/insights/${name}/day`,
        })),
        paging: { previous: `${request.url.origin}/previous`, next: `${request.url.origin}/next` },
      },
    };
  }

  function fieldsOf(node: string, fields: string[]): FakeResponse {
    const values: Record<string, unknown> = {
      id: node,
      ...(node === credentials.pageId
        ? {
            name: 'Acme Page',
            followers_count: followers.get(node),
            fan_count: followers.get(node)! - 17,
            instagram_business_account: { id: instagramAccountId },
          }
        : { username: 'acme', followers_count: followers.get(node), media_count: posts.get(node)!.length }),
    };
    return {
      status: 200,
      body: Object.fromEntries(['id', ...fields].filter((f) => f in values).map((f) => [f, values[f]])),
    };
  }

  const nextLink = (request: FakeRequest, after: string) => {
    const url = new URL(request.url.toString());
    url.searchParams.set('after', after);
    url.searchParams.delete('appsecret_proof');
    return url.toString();
  };

  function audienceUsers(request: FakeRequest, audienceId: string): FakeResponse {
    const audience = audiences.get(audienceId);
    if (!audience)
      return {
        status: 400,
        body: {
          error: {
            message: `Unsupported post request. Object with ID '${audienceId}' does not exist`,
            type: 'GraphMethodException',
            code: 100,
            error_subcode: 33,
          },
        },
      };
    const form = new URLSearchParams(request.body.toString('utf8'));
    let payload: { schema?: unknown; data?: unknown };
    try {
      payload = JSON.parse(form.get('payload') ?? '');
    } catch {
      return { status: 400, body: graphError(400) };
    }
    const schema = Array.isArray(payload.schema) ? payload.schema : [payload.schema];
    const emailAt = schema.indexOf('EMAIL');
    if (emailAt < 0 || !Array.isArray(payload.data) || payload.data.length > 10_000)
      return { status: 400, body: graphError(400) };
    let invalid = 0;
    for (const row of payload.data as unknown[]) {
      const cells = Array.isArray(row) ? row.map(String) : [String(row)];
      const hash = cells[emailAt];
      // Meta wants the normalized value hashed; a plain address or a short string is an invalid entry.
      if (!/^[0-9a-f]{64}$/.test(hash ?? '')) {
        invalid++;
        continue;
      }
      if (request.method === 'DELETE') {
        audience.delete(hash);
        removed.push(hash);
      } else if (!audience.has(hash)) audience.set(hash, cells);
    }
    return {
      status: 200,
      body: {
        audience_id: audienceId,
        session_id: String(Date.now()),
        num_received: payload.data.length,
        num_invalid_entries: invalid,
        invalid_entry_samples: {},
      },
    };
  }

  async function handle(request: FakeRequest): Promise<FakeResponse> {
    const versioned = GRAPH_VERSION.exec(request.url.pathname);
    if (!versioned)
      return {
        status: 400,
        body: { error: { message: 'Unknown path components', type: 'OAuthException', code: 2500 } },
      };
    const token =
      /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ''))?.[1] ??
      request.url.searchParams.get('access_token');
    const sentProof =
      request.url.searchParams.get('appsecret_proof') ??
      new URLSearchParams(request.body.toString('utf8')).get('appsecret_proof');
    if (switches.authRevoked || token !== credentials.accessToken)
      return {
        status: 400,
        headers: { 'www-authenticate': 'OAuth "Facebook Platform" "invalid_token"' },
        body: TOKEN_ERROR,
      };
    if (sentProof !== proof)
      return {
        status: 400,
        body: {
          error: {
            message: 'Invalid appsecret_proof provided in the API argument',
            type: 'GraphMethodException',
            code: 100,
          },
        },
      };
    const path = versioned[1].split('/').filter(Boolean);
    const usage = { 'x-app-usage': JSON.stringify({ call_count: 1, total_time: 1, total_cputime: 1 }) };
    const answer = (response: FakeResponse): FakeResponse => ({
      ...response,
      headers: { ...usage, ...response.headers },
    });
    const fields = (request.url.searchParams.get('fields') ?? 'id,name').split(',');
    if (request.method === 'GET' && path.length === 1 && followers.has(path[0]))
      return answer(fieldsOf(path[0], fields));
    if (request.method === 'GET' && path.length === 2 && path[1] === 'insights')
      return answer(insights(request, path[0]));
    const edge = path[0] === credentials.pageId ? 'published_posts' : path[0] === instagramAccountId ? 'media' : '';
    if (request.method === 'GET' && path.length === 2 && path[1] === edge) {
      const limit = Math.min(Number(request.url.searchParams.get('limit') ?? 25), 100);
      const time = edge === 'media' ? 'timestamp' : 'created_time';
      const data = posts
        .get(path[0])!
        .slice(0, limit)
        .map((p) => ({ id: p.id, ...(fields.includes(time) ? { [time]: p.created_time } : {}) }));
      return answer({ status: 200, body: { data } });
    }
    if (
      request.method === 'GET' &&
      path.length === 2 &&
      path[0] === credentials.pageId &&
      path[1] === 'leadgen_forms'
    ) {
      return answer({ status: 200, body: { data: formIds.map((id) => ({ id })) } });
    }
    if (request.method === 'GET' && path.length === 2 && path[1] === 'leads' && formIds.includes(path[0]))
      return answer(listLeads(request, path[0]));
    if (path.length === 2 && path[1] === 'users' && (request.method === 'POST' || request.method === 'DELETE'))
      return answer(audienceUsers(request, path[0]));
    if (request.method === 'DELETE' && path.length === 1 && leads.has(path[0])) {
      leads.delete(path[0]);
      return answer({ status: 200, body: { success: true } });
    }
    return {
      status: 400,
      body: {
        error: {
          message: `Unsupported ${request.method.toLowerCase()} request.`,
          type: 'GraphMethodException',
          code: 100,
          error_subcode: 33,
        },
      },
    };
  }

  const server = await serveFake(handle, { framing: MARKETING_FRAMING, faults: { switches, body: graphError } });
  const emailOf = (lead: FakeLead) => lead.field_data.find((f) => f.name === 'email')?.values[0];

  return {
    url: server.url,
    credentials,
    audienceIds,
    leads,
    audiences,
    removed,
    close: () => server.close(),
    failNext: (status, times, headers) => switches.failNext(status, times, headers),
    revokeAuth: () => switches.revokeAuth(),
    restoreAuth: () => switches.restoreAuth(),
    requestCount: () => switches.requestCount(),
    instagramAccountId,
    followers,
    posts,
    insightValue,
    ids(object) {
      if (object === 'leads') return [...leads.keys()].sort();
      if (object === 'custom_audience') return [...audiences.get(credentials.audienceId)!.keys()].sort();
      return [];
    },
    remove(object, id) {
      if (object === 'leads') leads.delete(id);
    },
    touch(object, id) {
      const lead = leads.get(id);
      if (object === 'leads' && lead) lead.created_time = graphTime(clock.later());
    },
    touchLate(object, id, lagMs) {
      const lead = leads.get(id);
      if (object !== 'leads' || !lead) throw new Error(`no ${object} ${id}`);
      const newest = Math.max(...[...leads.values()].map((l) => Date.parse(l.created_time.replace('+0000', 'Z'))));
      // A lead Meta lists late (a lagging replica): dated before leads already listed.
      lead.created_time = graphTime(new Date(newest - lagMs));
    },
    snapshot(object) {
      if (object === 'custom_audience') return [...audiences.get(credentials.audienceId)!.entries()].sort();
      return [...leads.values()].sort((a, b) => a.id.localeCompare(b.id)).map((l) => ({ ...l, email: emailOf(l) }));
    },
    submitLead(person, platform = 'fb') {
      return addLead(
        {
          email: person.email,
          first_name: person.first_name,
          last_name: person.last_name,
          full_name: person.full_name,
          phone_number: person.phone_number,
        },
        platform,
        clock.later(),
      );
    },
    leadgenDelivery(lead) {
      const body = Buffer.from(
        JSON.stringify({
          object: 'page',
          entry: [
            {
              id: credentials.pageId,
              time: Math.floor(Date.parse(lead.created_time.replace('+0000', 'Z')) / 1000),
              changes: [
                {
                  field: 'leadgen',
                  value: {
                    ad_id: lead.ad_id,
                    form_id: lead.form_id,
                    leadgen_id: lead.id,
                    created_time: Math.floor(Date.parse(lead.created_time.replace('+0000', 'Z')) / 1000),
                    page_id: credentials.pageId,
                    adgroup_id: lead.ad_id,
                  },
                },
              ],
            },
          ],
        }),
      );
      return {
        body,
        headers: {
          'content-type': 'application/json',
          'x-hub-signature-256': metaSignature(credentials.appSecret, body),
        },
      };
    },
  };
}
