/**
 * X OAuth 2.0 user context against the X fake, with the grant in the runtime's token table (PGlite,
 * sealed): the Authorization Code flow with a PKCE S256 challenge, the code exchanged with its verifier
 * and stored before use; access tokens refreshed on expiry with X's rotating refresh tokens, each new
 * one stored so a restarted connector continues with it; a spent or revoked grant is an auth error.
 */
import { randomBytes } from 'crypto';
import { migrate, openPglite, type Db } from '@data-sync/pipelines/db';
import { startFakeX, type XFake } from '@data-sync/vendor-fakes/x';
import { testSealer } from '@data-sync/vendor-fakes/constant_contact/sealer';
import type { ConnectorContext } from '../../connector';
import { SqlTokenStore } from '../../http/sql-token-store';
import { INTEGRATION_MIGRATIONS } from '../../migrations';
import { x } from './index';
import { xConfigSchema, type XConfig } from './config';
import { completeXAuthorization, createPkce, s256, xAuthorizeUrl } from './oauth2';

const sealer = testSealer(randomBytes(32));
const REDIRECT = 'https://sync.example.com/oauth/x/callback';
let db: Db;
let fake: XFake;
let store: SqlTokenStore;
let config: XConfig;
let clock = Date.parse('2026-02-01T10:00:00Z');
const context = (): ConnectorContext => ({ tokenStore: store, now: () => clock });

beforeAll(async () => {
  [db, fake] = await Promise.all([openPglite(), startFakeX({ seed: { mentions: 3 } })]);
  await migrate(db, INTEGRATION_MIGRATIONS);
  store = new SqlTokenStore(db, sealer);
  const c = fake.credentials;
  config = xConfigSchema.parse({
    userId: c.userId,
    consumerKey: c.consumerKey,
    consumerSecret: c.consumerSecret,
    clientId: fake.oauth2.clientId,
    clientSecret: fake.oauth2.clientSecret,
    baseUrl: fake.url,
    tokenUrl: `${fake.url}/2/oauth2/token`,
    authorizeUrl: `${fake.url}/i/oauth2/authorize`,
  });
}, 60_000);
afterAll(async () => {
  await fake?.close();
  await db?.close();
});

/** The person approves at the authorize URL; the code comes back on the redirect with the state. */
async function approve(challenge: string, state: string): Promise<string> {
  const answer = await fetch(xAuthorizeUrl(config, { redirectUri: REDIRECT, state, challenge }), {
    redirect: 'manual',
  });
  expect(answer.status).toBe(302);
  const back = new URL(answer.headers.get('location')!);
  expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
  expect(back.searchParams.get('state')).toBe(state);
  return back.searchParams.get('code')!;
}

async function storedTokens(): Promise<{ refreshToken: string; accessToken: string; clear: boolean }> {
  const { rows } = await db.query<{ sealed: string }>('SELECT sealed FROM integration_oauth_tokens');
  expect(rows).toHaveLength(1);
  const tokens = JSON.parse(await sealer.unseal(rows[0].sealed));
  return { ...tokens, clear: rows[0].sealed.includes(tokens.refreshToken) };
}

test('PKCE: the verifier is 43+ characters and the challenge its S256; a code with the wrong verifier is refused', async () => {
  const pkce = createPkce();
  expect(pkce.verifier).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
  expect(pkce.challenge).toBe(s256(pkce.verifier));
  expect(pkce.challenge).not.toBe(pkce.verifier);
  const code = await approve(pkce.challenge, 'state-wrong');
  await expect(
    completeXAuthorization(config, context(), { code, verifier: createPkce().verifier, redirectUri: REDIRECT }),
  ).rejects.toMatchObject({ kind: 'auth', message: expect.stringContaining('code verifier') });
  expect((await db.query('SELECT count(*)::int AS n FROM integration_oauth_tokens')).rows[0].n).toBe(0);
});

test('the authorization is stored sealed and the connector reads with the user token, without an app-only token', async () => {
  const pkce = createPkce();
  const code = await approve(pkce.challenge, 'state-1');
  await completeXAuthorization(config, context(), { code, verifier: pkce.verifier, redirectUri: REDIRECT });
  const last = fake.oauth2.authorizations[fake.oauth2.authorizations.length - 1];
  expect(last).toMatchObject({ codeChallengeMethod: 'S256', redirectUri: REDIRECT });
  expect(last.scope.split(' ')).toEqual(expect.arrayContaining(['tweet.read', 'users.read', 'offline.access']));
  const tokens = await storedTokens();
  expect(tokens).toMatchObject({ refreshToken: fake.oauth2.refreshTokens[0], clear: false });
  expect(config.bearerToken).toBeUndefined();
  const page = await x.create(config, context()).pull('mentions', null);
  expect(page.records).toHaveLength(3);
  // No refresh yet: the code exchange's access token was used.
  expect(fake.oauth2.usedRefreshTokens.size).toBe(0);
});

test('an expired access token is refreshed once; the rotated refresh token is stored and a restarted connector uses it', async () => {
  clock += 2 * 3_600_000;
  const first = fake.oauth2.refreshTokens[0];
  await expect(x.create(config, context()).test()).resolves.toMatchObject({ ok: true });
  expect(fake.oauth2.usedRefreshTokens).toEqual(new Set([first]));
  const rotated = fake.oauth2.refreshTokens[1];
  expect((await storedTokens()).refreshToken).toBe(rotated);
  // Another expiry: a new instance (a restart) presents the rotated token, never the spent one.
  clock += 2 * 3_600_000;
  await expect(x.create(config, context()).pull('metrics', null)).resolves.toMatchObject({ done: true });
  expect(fake.oauth2.usedRefreshTokens).toEqual(new Set([first, rotated]));
  expect((await storedTokens()).refreshToken).toBe(fake.oauth2.refreshTokens[2]);
});

test('a revoked grant is an auth error that says to reauthorize', async () => {
  clock += 2 * 3_600_000;
  fake.revokeAuth();
  try {
    await expect(x.create(config, context()).pull('mentions', null)).rejects.toMatchObject({
      kind: 'auth',
      message: expect.stringContaining('reauthorize'),
    });
  } finally {
    fake.restoreAuth();
  }
});
