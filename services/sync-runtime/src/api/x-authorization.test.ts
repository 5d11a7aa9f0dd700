/**
 * Connecting an X account through the API, against the X fake: an admin starts the authorization, the
 * person's browser follows the authorize URL to X and is sent back to /oauth/x/callback (no API token),
 * the code is exchanged with the verifier kept server-side, and the X connector then syncs with the
 * stored user token and no app-only token. The state works once and for 10 minutes (the API's clock is
 * the test's), a declined or refused authorization is a 400 that says why, and no token reaches an answer
 * or a log line.
 */
import { x } from '@data-sync/integrations/social/x';
import { startFakeX, type XFake } from '@data-sync/vendor-fakes/x';
import { bearer, createHarness, type Harness } from './testing/harness';
import { demoConnector } from './testing/demo-connector';

let h: Harness;
let fake: XFake;
// Starts at the real time: the engine's connectors (real clock) then see the grant the callback stored as fresh.
let clock = Date.now();
let xId: string;
let demoId: string;

const admin = () => bearer(h.auth.admin);

async function createIntegration(name: string, system: string, config: Record<string, unknown>): Promise<string> {
  const created = await h.inject({
    method: 'POST',
    url: '/api/integrations',
    headers: admin(),
    payload: { name, system, config },
  });
  if (created.statusCode !== 201) throw new Error(`creating ${name}: ${created.statusCode} ${created.body}`);
  return created.json().id;
}

function xConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const c = fake.credentials;
  return {
    userId: c.userId,
    consumerKey: c.consumerKey,
    consumerSecret: c.consumerSecret,
    clientId: fake.oauth2.clientId,
    clientSecret: fake.oauth2.clientSecret,
    baseUrl: fake.url,
    tokenUrl: `${fake.url}/2/oauth2/token`,
    authorizeUrl: `${fake.url}/i/oauth2/authorize`,
    redirectUri: `${h.url}/oauth/x/callback`,
    ...overrides,
  };
}

async function authorize(id = xId): Promise<{ authorizeUrl: string; expiresAt: string }> {
  const answer = await h.inject({ method: 'POST', url: `/api/integrations/${id}/x/authorize`, headers: admin() });
  expect(answer.statusCode).toBe(200);
  return answer.json();
}

/** What the person's browser does: opens the authorize URL and is redirected back to the callback. */
async function approveAtX(authorizeUrl: string): Promise<string> {
  const atX = await fetch(authorizeUrl, { redirect: 'manual' });
  expect(atX.status).toBe(302);
  return atX.headers.get('location')!;
}

const visit = async (url: string) => {
  const answer = await fetch(url);
  return { status: answer.status, type: answer.headers.get('content-type') ?? '', text: await answer.text() };
};

beforeAll(async () => {
  fake = await startFakeX({ seed: { mentions: 3 } });
  h = await createHarness({ connectors: { x, demo: demoConnector }, now: () => clock });
  xId = await createIntegration('x_acme', 'x', xConfig());
  demoId = await createIntegration('demo_crm', 'demo', {
    baseUrl: 'http://127.0.0.1:1',
    apiKey: 'demo-key-123456',
    webhookSecret: 'demo-secret-123456',
  });
}, 60_000);
afterAll(async () => {
  await h?.close();
  await fake?.close();
});

test('an admin connects an X account through the browser redirect, and the X connector then syncs with its user token', async () => {
  const started = await authorize();
  expect(Date.parse(started.expiresAt)).toBe(clock + 10 * 60_000);
  const url = new URL(started.authorizeUrl);
  expect(`${url.origin}${url.pathname}`).toBe(`${fake.url}/i/oauth2/authorize`);
  expect(Object.fromEntries(url.searchParams)).toMatchObject({
    response_type: 'code',
    client_id: fake.oauth2.clientId,
    redirect_uri: `${h.url}/oauth/x/callback`,
    scope: 'tweet.read users.read follows.read offline.access',
    code_challenge_method: 'S256',
  });
  expect(url.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43,}$/);
  expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);

  const back = await approveAtX(started.authorizeUrl);
  expect(back.startsWith(`${h.url}/oauth/x/callback?`)).toBe(true);
  const page = await visit(back);
  expect(page).toMatchObject({ status: 200, type: expect.stringContaining('text/html') });
  expect(page.text).toContain('X account connected');
  expect(page.text).toContain('x_acme');
  for (const token of [...fake.oauth2.accessTokens, ...fake.oauth2.refreshTokens])
    expect(page.text).not.toContain(token);

  const run = await h.inject({
    method: 'POST',
    url: '/api/sync/trigger/x_acme',
    headers: bearer(h.auth.operator),
    payload: {},
  });
  expect(run.statusCode).toBe(202);
  await h.drain();
  const status = await h.inject({
    method: 'GET',
    url: `/api/sync/runs/${run.json().runId}`,
    headers: bearer(h.auth.viewer),
  });
  expect(status.json()).toMatchObject({ status: 'succeeded', error: null });
  // The mentions came with the user token X issued for the code (the integration has no app-only token).
  const { rows } = await h.db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM synced_records WHERE integration = 'x_acme' AND object = 'mentions'",
  );
  expect(rows[0].n).toBe(3);
  expect(fake.oauth2.accessTokens.size).toBe(1);
  expect(fake.oauth2.usedRefreshTokens.size).toBe(0);

  const audit = await h.repositories.audit.list({ action: 'x.authorization', limit: 10, offset: 0 });
  expect(audit.entries).toEqual([
    expect.objectContaining({ actor: 'oauth:x', target: 'integration:x_acme', outcome: 'ok' }),
  ]);
});

test('the state works once: the same redirect replayed is refused and connects nothing again', async () => {
  const back = await approveAtX((await authorize()).authorizeUrl);
  expect((await visit(back)).status).toBe(200);
  const tokensBefore = fake.oauth2.accessTokens.size;
  const replay = await visit(back);
  expect(replay.status).toBe(400);
  expect(JSON.parse(replay.text)).toMatchObject({
    error: 'invalid_state',
    message: expect.stringContaining('already used'),
  });
  expect(fake.oauth2.accessTokens.size).toBe(tokensBefore);
});

test('a state older than 10 minutes is refused, and the next authorize purges the expired ones', async () => {
  const back = await approveAtX((await authorize()).authorizeUrl);
  clock += 10 * 60_000 + 1;
  const late = await visit(back);
  expect(late.status).toBe(400);
  expect(JSON.parse(late.text)).toMatchObject({ error: 'expired_state', message: expect.stringContaining('expired') });

  const abandoned = await authorize();
  clock += 11 * 60_000;
  await authorize();
  const { rows } = await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM x_authorization_states');
  expect(rows[0].n).toBe(1);
  const stale = await visit(await approveAtX(abandoned.authorizeUrl));
  expect(JSON.parse(stale.text)).toMatchObject({ error: 'invalid_state' });
});

test('a person who declines at X gets a 400 naming X’s error, and the state is spent', async () => {
  const started = await authorize();
  fake.oauth2.declining = true;
  let back: string;
  try {
    back = await approveAtX(started.authorizeUrl);
  } finally {
    fake.oauth2.declining = false;
  }
  expect(new URL(back).searchParams.get('error')).toBe('access_denied');
  const declined = await visit(back);
  expect(declined.status).toBe(400);
  expect(JSON.parse(declined.text)).toMatchObject({
    error: 'authorization_denied',
    message: expect.stringContaining('access_denied'),
  });
  expect(JSON.parse((await visit(back)).text)).toMatchObject({ error: 'invalid_state' });
});

test('a code exchanged with the wrong verifier is refused by X: 400 with X’s reason, state spent, no grant stored', async () => {
  const started = await authorize();
  // Another authorization's challenge on this state: X binds the code to it, so the stored verifier no longer matches.
  const forged = new URL(started.authorizeUrl);
  forged.searchParams.set(
    'code_challenge',
    new URL((await authorize()).authorizeUrl).searchParams.get('code_challenge')!,
  );
  const { rows: before } = await h.db.query<{ sealed: string }>('SELECT sealed FROM integration_oauth_tokens');
  const refused = await visit(await approveAtX(forged.toString()));
  expect(refused.status).toBe(400);
  expect(JSON.parse(refused.text)).toMatchObject({
    error: 'authorization_refused',
    message: expect.stringContaining('code verifier'),
  });
  const { rows: after } = await h.db.query<{ sealed: string }>('SELECT sealed FROM integration_oauth_tokens');
  expect(after).toEqual(before);
  const again = await visit(await approveAtX(started.authorizeUrl));
  expect(JSON.parse(again.text)).toMatchObject({ error: 'invalid_state' });
});

test('only an admin starts an authorization; unknown, non-X and unconfigured integrations are refused with the reason', async () => {
  const url = `/api/integrations/${xId}/x/authorize`;
  expect((await h.inject({ method: 'POST', url, headers: bearer(h.auth.operator) })).statusCode).toBe(403);
  expect((await h.inject({ method: 'POST', url })).statusCode).toBe(401);

  const unknown = await h.inject({ method: 'POST', url: '/api/integrations/nope/x/authorize', headers: admin() });
  expect(unknown.statusCode).toBe(404);
  const demo = await h.inject({ method: 'POST', url: `/api/integrations/${demoId}/x/authorize`, headers: admin() });
  expect(demo.statusCode).toBe(400);
  expect(demo.json().message).toContain('demo integration');

  const appOnly = await createIntegration(
    'x_app_only',
    'x',
    xConfig({ clientId: undefined, clientSecret: undefined, bearerToken: fake.credentials.bearerToken }),
  );
  const noClient = await h.inject({
    method: 'POST',
    url: `/api/integrations/${appOnly}/x/authorize`,
    headers: admin(),
  });
  expect(noClient.statusCode).toBe(400);
  expect(noClient.json().message).toContain('config.clientId');
  const noRedirect = await createIntegration('x_no_redirect', 'x', xConfig({ redirectUri: undefined }));
  const missing = await h.inject({
    method: 'POST',
    url: `/api/integrations/${noRedirect}/x/authorize`,
    headers: admin(),
  });
  expect(missing.statusCode).toBe(400);
  expect(missing.json().message).toContain('config.redirectUri');
});

test('a callback without a state, or with one this runtime never issued, is a 400', async () => {
  expect(JSON.parse((await visit(`${h.url}/oauth/x/callback?code=abc`)).text)).toMatchObject({
    error: 'invalid_state',
  });
  const forged = await visit(`${h.url}/oauth/x/callback?code=abc&state=${'A'.repeat(43)}`);
  expect(forged.status).toBe(400);
});

test('no token, code or verifier appears in an answer or a log line', () => {
  const logs = h.logs();
  const secrets = [...fake.oauth2.accessTokens, ...fake.oauth2.refreshTokens, fake.oauth2.clientSecret];
  expect(secrets.length).toBeGreaterThan(2);
  for (const secret of secrets) expect(logs).not.toContain(secret);
  expect(logs).not.toMatch(/code-[A-Za-z0-9_-]{10,}/);
  expect(logs).not.toContain('code_verifier');
  expect(logs).toContain('X account connected');
});
