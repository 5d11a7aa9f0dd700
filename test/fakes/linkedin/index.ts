/**
 * A local LinkedIn Marketing API for tests and the demo: the token endpoint (refresh_token grant),
 * `GET /rest/adAccounts/{id}`, `/rest/leadForms/{id}` (questions with predefined fields) and
 * `/rest/leadFormResponses?q=owner` (Rest.li 2.0 query syntax checked literally, `submittedAtTimeRange`,
 * `start`/`count` with `paging.total`, oldest first), and `POST /rest/dmpSegments/{id}/users` (BATCH_CREATE of
 * ADD/REMOVE with SHA256_EMAIL ids). Every REST call must carry `LinkedIn-Version` (YYYYMM) and
 * `X-Restli-Protocol-Version: 2.0.0`; violations() lists those that did not. touch() makes a response
 * appear later (a late-synced lead): lead form responses never change otherwise. Organization Page
 * statistics: `/rest/organizationalEntityFollowerStatistics` and `/rest/organizationalEntityShareStatistics`
 * (`q=organizationalEntity`, `timeIntervals` of DAY granularity, one element per day, epoch ms ranges) and
 * `/rest/networkSizes/{urn}?edgeType=COMPANY_FOLLOWED_BY_MEMBER`.
 */
import { randomUUID } from 'crypto';
import type { Fake } from '@data-sync/integrations/contract/connector-contract';
import {
  FakeClock,
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
import { linkedinSignature } from '@data-sync/integrations/social/linkedin/webhook';
import { insightValue } from '../meta';

export interface FakeFormResponse {
  id: string;
  owner: { sponsoredAccount: string };
  submitter: string;
  leadType: 'SPONSORED';
  versionedLeadGenFormUrn: string;
  submittedAt: number;
  testLead: boolean;
  formResponse: { answers: { questionId: number; answerDetails: { textQuestionAnswer: { answer: string } } }[] };
}

export interface LinkedinFake extends Fake {
  readonly credentials: {
    clientId: string;
    clientSecret: string;
    refreshToken: string;
    sponsoredAccountId: string;
    segmentId: string;
    organizationId: string;
  };
  /** First-degree followers of the organization now; tests change it. */
  followers: number;
  /** The value the fake reports for a statistic on `day` (YYYY-MM-DD). */
  statValue(metric: string, day: string): number;
  readonly responses: Map<string, FakeFormResponse>;
  /** Segment members by SHA256_EMAIL. */
  readonly segment: Set<string>;
  readonly removed: string[];
  /** Access tokens issued by the token endpoint. */
  readonly issued: string[];
  submit(person: { email: string; first_name?: string; last_name?: string }): FakeFormResponse;
  /** The lead notification LinkedIn posts for `response`, signed. */
  notification(response: FakeFormResponse): { body: Buffer; headers: Record<string, string> };
}

const FORM_ID = '7123456';
const QUESTIONS = [
  { questionId: 1, name: 'email', predefinedField: 'EMAIL' },
  { questionId: 2, name: 'firstName', predefinedField: 'FIRST_NAME' },
  { questionId: 3, name: 'lastName', predefinedField: 'LAST_NAME' },
  { questionId: 4, name: 'favourite colour' },
];

const error = (status: number, code: string, message: string) => ({ status, code, message });
const faultBody = (status: number) =>
  status === 429
    ? error(
        429,
        'TOO_MANY_REQUESTS',
        'Resource level throttle APPLICATION DAY limit for calls to this resource is reached.',
      )
    : error(status, 'INTERNAL_SERVER_ERROR', 'Internal Server Error');

export async function startFakeLinkedin(
  options: { seed?: Readonly<Record<string, number>>; pageSize?: number } = {},
): Promise<LinkedinFake> {
  const credentials = {
    clientId: '86fakeclient',
    clientSecret: 'WPL_AP1.fake-client-secret',
    refreshToken: 'AQXfake-refresh-token',
    sponsoredAccountId: '512345678',
    segmentId: '9876543',
    organizationId: '2414183',
  };
  const switches = new FakeSwitches();
  const clock = new FakeClock(Date.parse('2026-01-05T08:00:00Z'), 2);
  const random = seededRandom(59);
  const responses = new Map<string, FakeFormResponse>();
  const segment = new Set<string>();
  const removed: string[] = [];
  const issued: string[] = [];
  const violations: string[] = [];
  const accountUrn = `urn:li:sponsoredAccount:${credentials.sponsoredAccountId}`;

  const submit = (
    person: { email: string; first_name?: string; last_name?: string },
    at = clock.next().getTime(),
  ): FakeFormResponse => {
    const answers = [
      [1, person.email],
      [2, person.first_name],
      [3, person.last_name],
      [4, 'teal'],
    ]
      .filter(([, v]) => v !== undefined)
      .map(([questionId, answer]) => ({
        questionId: questionId as number,
        answerDetails: { textQuestionAnswer: { answer: answer as string } },
      }));
    const response: FakeFormResponse = {
      id: randomUUID(),
      owner: { sponsoredAccount: accountUrn },
      submitter: `urn:li:person:${Math.floor(random() * 1e9)}`,
      leadType: 'SPONSORED',
      versionedLeadGenFormUrn: `urn:li:versionedLeadGenForm:(urn:li:leadGenForm:${FORM_ID},1)`,
      submittedAt: at,
      testLead: false,
      formResponse: { answers },
    };
    responses.set(response.id, response);
    return response;
  };
  for (let i = 0; i < (options.seed?.leads ?? 0); i++) {
    const p = fakePerson(i, random);
    submit({ email: p.email, first_name: p.firstName, last_name: p.lastName });
  }

  function listResponses(request: FakeRequest): FakeResponse {
    const raw = request.url.search;
    const owner = `owner=(sponsoredAccount:${encodeURIComponent(accountUrn)})`;
    if (!raw.includes('q=owner') || !raw.includes(owner) || !raw.includes('leadType=(leadType:SPONSORED)')) {
      return {
        status: 400,
        body: error(400, 'ILLEGAL_ARGUMENT', `expected q=owner&${owner}&leadType=(leadType:SPONSORED)`),
      };
    }
    const range = /submittedAtTimeRange=\(start:(\d+),end:(\d+)\)/.exec(raw);
    const q = request.url.searchParams;
    const start = Number(q.get('start') ?? 0);
    const count = Number(q.get('count') ?? options.pageSize ?? 10);
    let items = [...responses.values()].sort((a, b) => a.submittedAt - b.submittedAt || a.id.localeCompare(b.id));
    if (range) items = items.filter((r) => r.submittedAt >= Number(range[1]) && r.submittedAt <= Number(range[2]));
    return {
      status: 200,
      body: { elements: items.slice(start, start + count), paging: { start, count, total: items.length, links: [] } },
    };
  }

  function segmentUsers(request: FakeRequest, id: string): FakeResponse {
    if (id !== credentials.segmentId) return { status: 404, body: error(404, 'NOT_FOUND', `segment ${id} not found`) };
    if (String(request.headers['x-restli-method'] ?? '').toUpperCase() !== 'BATCH_CREATE')
      return { status: 400, body: error(400, 'ILLEGAL_ARGUMENT', 'X-RestLi-Method: BATCH_CREATE is required') };
    const body = jsonBody(request) as {
      elements?: { action?: string; userIds?: { idType?: string; idValue?: string }[] }[];
    };
    const results = (body?.elements ?? []).map((element) => {
      const id = element.userIds?.find((u) => u.idType === 'SHA256_EMAIL')?.idValue;
      if (!id || !/^[0-9a-f]{64}$/.test(id) || !['ADD', 'REMOVE'].includes(String(element.action)))
        return { status: 400, message: 'invalid user id or action' };
      if (element.action === 'REMOVE') {
        segment.delete(id);
        removed.push(id);
      } else segment.add(id);
      return { status: 201 };
    });
    return { status: 200, body: { elements: results } };
  }

  const orgUrn = `urn:li:organization:${credentials.organizationId}`;
  const statValue = (metric: string, day: string) => insightValue(orgUrn, metric, day);
  const SHARE_STATS = [
    'uniqueImpressionsCount',
    'shareCount',
    'engagement',
    'clickCount',
    'likeCount',
    'impressionCount',
    'commentCount',
  ];

  /** Time-bound statistics: one element per DAY in [start, end). */
  function statistics(request: FakeRequest, kind: 'followers' | 'shares'): FakeResponse {
    const raw = request.url.search;
    const interval = /timeIntervals=\(timeRange:\(start:(\d+),end:(\d+)\),timeGranularityType:DAY\)/.exec(raw);
    if (!raw.includes('q=organizationalEntity') || !raw.includes(`organizationalEntity=${encodeURIComponent(orgUrn)}`))
      return {
        status: 400,
        body: error(400, 'ILLEGAL_ARGUMENT', 'q=organizationalEntity&organizationalEntity=<urn> is required'),
      };
    if (!interval || Number(interval[2]) <= Number(interval[1]))
      return {
        status: 400,
        body: error(
          400,
          'ILLEGAL_ARGUMENT',
          'timeIntervals=(timeRange:(start,end),timeGranularityType:DAY) is required',
        ),
      };
    const elements = [];
    for (let t = Number(interval[1]); t < Number(interval[2]); t += 86_400_000) {
      const day = new Date(t).toISOString().slice(0, 10);
      const timeRange = { start: t, end: t + 86_400_000 };
      elements.push(
        kind === 'followers'
          ? {
              timeRange,
              followerGains: {
                organicFollowerGain: statValue('organicFollowerGain', day),
                paidFollowerGain: statValue('paidFollowerGain', day),
              },
              organizationalEntity: orgUrn,
            }
          : {
              timeRange,
              totalShareStatistics: Object.fromEntries(SHARE_STATS.map((m) => [m, statValue(m, day)])),
              organizationalEntity: orgUrn,
            },
      );
    }
    return { status: 200, body: { paging: { start: 0, count: 10, links: [] }, elements } };
  }

  async function handle(request: FakeRequest): Promise<FakeResponse> {
    const path = request.url.pathname;
    if (path === '/oauth/v2/accessToken' && request.method === 'POST') {
      const form = new URLSearchParams(request.body.toString('utf8'));
      if (
        form.get('grant_type') !== 'refresh_token' ||
        form.get('client_id') !== credentials.clientId ||
        form.get('client_secret') !== credentials.clientSecret
      ) {
        return { status: 401, body: { error: 'invalid_client', error_description: 'Client authentication failed' } };
      }
      if (switches.authRevoked || form.get('refresh_token') !== credentials.refreshToken)
        return {
          status: 400,
          body: {
            error: 'invalid_grant',
            error_description: 'The provided authorization grant or refresh token is invalid, expired or revoked',
          },
        };
      const token = `AQVfake-access-${issued.length + 1}`;
      issued.push(token);
      return {
        status: 200,
        body: {
          access_token: token,
          expires_in: 5_184_000,
          refresh_token: credentials.refreshToken,
          refresh_token_expires_in: 31_536_000,
        },
      };
    }
    const version = String(request.headers['linkedin-version'] ?? '');
    if (!/^\d{6}$/.test(version))
      violations.push(`${request.method} ${path}: LinkedIn-Version "${version}" is not YYYYMM`);
    if (request.headers['x-restli-protocol-version'] !== '2.0.0')
      violations.push(`${request.method} ${path}: X-Restli-Protocol-Version is not 2.0.0`);
    const token = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ''))?.[1];
    if (switches.authRevoked || !token || !issued.includes(token))
      return {
        status: 401,
        body: {
          status: 401,
          serviceErrorCode: 65601,
          code: 'REVOKED_ACCESS_TOKEN',
          message: 'The token used in the request has been revoked by the user',
        },
      };
    if (request.method === 'GET' && path === `/rest/adAccounts/${credentials.sponsoredAccountId}`)
      return { status: 200, body: { id: Number(credentials.sponsoredAccountId), name: 'Acme Ads', status: 'ACTIVE' } };
    if (request.method === 'GET' && path === `/rest/leadForms/${FORM_ID}`)
      return { status: 200, body: { id: Number(FORM_ID), name: 'Whitepaper', content: { questions: QUESTIONS } } };
    if (request.method === 'GET' && path === '/rest/leadFormResponses') return listResponses(request);
    if (request.method === 'GET' && path === '/rest/organizationalEntityFollowerStatistics')
      return statistics(request, 'followers');
    if (request.method === 'GET' && path === '/rest/organizationalEntityShareStatistics')
      return statistics(request, 'shares');
    if (request.method === 'GET' && path === `/rest/networkSizes/${encodeURIComponent(orgUrn)}`) {
      if (request.url.searchParams.get('edgeType') !== 'COMPANY_FOLLOWED_BY_MEMBER')
        return { status: 400, body: error(400, 'ILLEGAL_ARGUMENT', 'edgeType must be COMPANY_FOLLOWED_BY_MEMBER') };
      return { status: 200, body: { firstDegreeSize: fake.followers } };
    }
    const members = /^\/rest\/dmpSegments\/(\d+)\/users$/.exec(path);
    if (request.method === 'POST' && members) return segmentUsers(request, members[1]);
    return { status: 404, body: error(404, 'NOT_FOUND', `no resource ${path}`) };
  }

  const server = await serveFake(handle, { framing: MARKETING_FRAMING, faults: { switches, body: faultBody } });
  const fake: LinkedinFake = {
    url: server.url,
    followers: 5120,
    statValue,
    credentials,
    responses,
    segment,
    removed,
    issued,
    close: () => server.close(),
    failNext: (status, times, headers) => switches.failNext(status, times, headers),
    revokeAuth: () => switches.revokeAuth(),
    restoreAuth: () => switches.restoreAuth(),
    requestCount: () => switches.requestCount(),
    violations: () => [...violations],
    ids: (object) =>
      object === 'leads' ? [...responses.keys()].sort() : object === 'custom_audience' ? [...segment].sort() : [],
    touch(object, id) {
      const response = responses.get(id);
      if (object === 'leads' && response) response.submittedAt = clock.later().getTime();
    },
    snapshot: (object) =>
      object === 'custom_audience'
        ? [...segment].sort()
        : [...responses.values()].sort((a, b) => a.id.localeCompare(b.id)),
    submit: (person) => submit(person, clock.later().getTime()),
    notification(response) {
      const body = Buffer.from(
        JSON.stringify({
          type: 'LEAD_ACTION',
          leadGenFormResponse: `urn:li:leadGenFormResponse:${response.id}`,
          leadAction: 'CREATED',
          owner: { sponsoredAccount: accountUrn },
          occurredAt: response.submittedAt,
        }),
      );
      return {
        body,
        headers: {
          'content-type': 'application/json',
          'x-li-signature': linkedinSignature(credentials.clientSecret, body),
        },
      };
    },
  };
  return fake;
}

export const linkedinMemberHash = (email: string) => sha256(email.trim().toLowerCase());
