/**
 * The webhook cases every entry point must answer alike: run against the Node route
 * (webhooks/node-route.test.ts) and against the Cloudflare Worker in miniflare
 * (cloudflare/worker.integration.test.ts). Each uses the API tests' demo connector (HMAC-SHA256 of the
 * raw body in x-demo-signature) and its own integration, so the cases do not see each other's jobs.
 */
import { signDemo } from '../api/testing/demo-connector';

export const CASE_SECRET = 'whsec-shared-cases-0123';

/** An integration a case registers (with the demo connector). */
export interface CaseIntegration {
  readonly name: string;
  readonly enabled: boolean;
  readonly webhookAllowlist: readonly string[];
  /** The demo connector's config; the API key may be a credential reference that no deployment sets. */
  readonly config: Record<string, unknown>;
}

export interface WebhookCase {
  readonly title: string;
  /** The path segment posted to. */
  readonly name: string;
  /** Registered before the request; null: the name is unknown. */
  readonly integration: CaseIntegration | null;
  readonly contentType: string;
  readonly body: string;
  /** The secret that signs the body. */
  readonly signWith: string;
  readonly expected: {
    readonly status: number;
    /** A subset of the JSON answer. */
    readonly body: Record<string, unknown>;
    /** Whether a 'webhook' job for the integration is queued. */
    readonly queued: boolean;
    /** Whether a `webhook.rejected` audit entry names the integration. */
    readonly audited: boolean;
  };
}

/** The sender address both runners present: the loopback socket on Node, CF-Connecting-IP on the Worker. */
export const CASE_CLIENT_IP = '127.0.0.1';

const demoConfig = { baseUrl: 'http://127.0.0.1:1', apiKey: 'key-live-0123456789', webhookSecret: CASE_SECRET };
const registered = (name: string, extra: Partial<CaseIntegration> = {}): CaseIntegration => ({
  name,
  enabled: true,
  webhookAllowlist: [],
  config: demoConfig,
  ...extra,
});
const events = (...list: { id: string; type: string }[]) => JSON.stringify({ events: list });
const json = 'application/json';

export const WEBHOOK_CASES: readonly WebhookCase[] = [
  {
    title: 'a signed delivery is queued before the 202',
    name: 'case_signed',
    integration: registered('case_signed'),
    contentType: json,
    body: events({ id: 'e1', type: 'contact.updated' }),
    signWith: CASE_SECRET,
    expected: { status: 202, body: { accepted: 1, jobId: expect.any(String) }, queued: true, audited: false },
  },
  {
    title: 'a delivery without events is 202 and queues nothing',
    name: 'case_empty',
    integration: registered('case_empty'),
    contentType: json,
    body: events(),
    signWith: CASE_SECRET,
    expected: { status: 202, body: { accepted: 0, jobId: null }, queued: false, audited: false },
  },
  {
    title: 'a forged signature is 401 and audited; nothing is queued',
    name: 'case_forged',
    integration: registered('case_forged'),
    contentType: json,
    body: events({ id: 'e1', type: 't' }),
    signWith: 'wrong-secret-123',
    expected: {
      status: 401,
      body: { error: 'webhook_rejected', message: 'bad signature' },
      queued: false,
      audited: true,
    },
  },
  {
    title: 'a sender outside the allowlist is 403 and audited',
    name: 'case_blocked',
    integration: registered('case_blocked', { webhookAllowlist: ['10.1.0.0/16'] }),
    contentType: json,
    body: events({ id: 'e1', type: 't' }),
    signWith: CASE_SECRET,
    expected: {
      status: 403,
      body: { error: 'forbidden', message: expect.stringContaining('allowlist') },
      queued: false,
      audited: true,
    },
  },
  {
    title: 'a sender inside the allowlist is admitted',
    name: 'case_listed',
    integration: registered('case_listed', { webhookAllowlist: ['10.1.0.0/16', '127.0.0.0/8'] }),
    contentType: json,
    body: events({ id: 'e1', type: 't' }),
    signWith: CASE_SECRET,
    expected: { status: 202, body: { accepted: 1 }, queued: true, audited: false },
  },
  {
    title: 'an unknown integration is 404',
    name: 'case_nobody',
    integration: null,
    contentType: json,
    body: events(),
    signWith: CASE_SECRET,
    expected: { status: 404, body: { error: 'not_found' }, queued: false, audited: false },
  },
  {
    title: 'a disabled integration is 404',
    name: 'case_paused',
    integration: registered('case_paused', { enabled: false }),
    contentType: json,
    body: events({ id: 'e1', type: 't' }),
    signWith: CASE_SECRET,
    expected: { status: 404, body: { error: 'not_found' }, queued: false, audited: false },
  },
  {
    title: 'an integration whose credential variable is unset answers 503, for the vendor to retry',
    name: 'case_unset',
    integration: registered('case_unset', { config: { ...demoConfig, apiKey: { $env: 'KLAVIYO_API_KEY' } } }),
    contentType: json,
    body: events({ id: 'e1', type: 't' }),
    signWith: CASE_SECRET,
    expected: {
      status: 503,
      body: { error: 'integration_misconfigured', details: { integration: 'case_unset', variable: 'KLAVIYO_API_KEY' } },
      queued: false,
      audited: false,
    },
  },
  {
    title: 'a body the verifier cannot read is 400',
    name: 'case_unreadable',
    integration: registered('case_unreadable'),
    contentType: 'text/plain',
    body: 'not json',
    signWith: CASE_SECRET,
    expected: { status: 400, body: { error: 'webhook_invalid' }, queued: false, audited: false },
  },
  {
    title: 'the raw body reaches the verifier whatever its content type',
    name: 'case_form',
    integration: registered('case_form'),
    contentType: 'application/x-www-form-urlencoded',
    body: events({ id: 'f1', type: 't' }),
    signWith: CASE_SECRET,
    expected: { status: 202, body: { accepted: 1 }, queued: true, audited: false },
  },
  {
    title: 'events nested too deep to process are 400; nothing is queued',
    name: 'case_deep',
    integration: registered('case_deep'),
    contentType: json,
    body: `{"events":[{"id":"d1","type":"t","nested":${'{"a":'.repeat(1000)}1${'}'.repeat(1000)}}]}`,
    signWith: CASE_SECRET,
    expected: { status: 400, body: { error: 'too_deeply_nested' }, queued: false, audited: false },
  },
  {
    title: 'an event holding a lone UTF-16 surrogate is 400; nothing is queued',
    name: 'case_surrogate',
    integration: registered('case_surrogate'),
    contentType: json,
    body: '{"events":[{"id":"s1","type":"\\ud800"}]}',
    signWith: CASE_SECRET,
    expected: { status: 400, body: { error: 'malformed_unicode' }, queued: false, audited: false },
  },
  {
    title: 'an event holding the NUL character is 400; nothing is queued',
    name: 'case_nul',
    integration: registered('case_nul'),
    contentType: json,
    body: '{"events":[{"id":"n1","type":"contact\\u0000updated"}]}',
    signWith: CASE_SECRET,
    expected: { status: 400, body: { error: 'unstorable_text' }, queued: false, audited: false },
  },
];

/** The request headers of a case (signature over the exact body). */
export const caseHeaders = (c: WebhookCase): Record<string, string> => ({
  'content-type': c.contentType,
  'x-demo-signature': signDemo(c.signWith, c.body),
});

/** A GET subscription handshake both runners must answer alike. */
export interface HandshakeCase {
  readonly title: string;
  readonly name: string;
  /** Registered with `system` and `config`. */
  readonly integration: { readonly name: string; readonly system: string; readonly config: Record<string, unknown> };
  /** Query string, with its `?`. */
  readonly query: string;
  readonly expected: {
    readonly status: number;
    /** The text answer (the challenge echo), or a subset of the JSON error. */
    readonly text?: string;
    readonly body?: Record<string, unknown>;
    readonly audited: boolean;
  };
}

export const META_VERIFY_TOKEN = 'meta-verify-token-for-cases';
const metaCase = (name: string) => ({
  name,
  system: 'facebook',
  config: {
    accessToken: 'EAAcasePageToken',
    appSecret: 'meta-case-app-secret',
    pageId: '1020304050',
    verifyToken: META_VERIFY_TOKEN,
  },
});

export const HANDSHAKE_CASES: readonly HandshakeCase[] = [
  {
    title: "Meta's subscription handshake is answered with hub.challenge as text",
    integration: metaCase('case_meta_ok'),
    name: 'case_meta_ok',
    query: `?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=${META_VERIFY_TOKEN}`,
    expected: { status: 200, text: '1158201444', audited: false },
  },
  {
    title: 'a handshake with the wrong verify token is 403 and audited',
    integration: metaCase('case_meta_bad'),
    name: 'case_meta_bad',
    query: '?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=guessed-token',
    expected: {
      status: 403,
      body: { error: 'forbidden', message: expect.stringContaining('verify_token') },
      audited: true,
    },
  },
  {
    title: 'a handshake without a challenge is 400',
    integration: metaCase('case_meta_empty'),
    name: 'case_meta_empty',
    query: `?hub.mode=subscribe&hub.verify_token=${META_VERIFY_TOKEN}`,
    expected: { status: 400, body: { error: 'webhook_rejected' }, audited: true },
  },
  {
    title: 'a GET to a vendor without a handshake is 405',
    integration: { name: 'case_no_handshake', system: 'demo', config: demoConfig },
    name: 'case_no_handshake',
    query: '?challenge=x',
    expected: { status: 405, body: { error: 'method_not_allowed' }, audited: false },
  },
];
