/**
 * Rotating refresh tokens (Constant Contact) across workers and restarts, with the tokens in the
 * runtime's database: two workers refresh once between them, every rotated token is stored sealed
 * before it is used, a restarted worker continues with the newest token, and a revoked grant is an
 * auth error saying to reauthorize. PostgreSQL with worker processes, and PGlite in one process.
 */
import { spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { migrate, openPglite, openPostgres, type Db } from '@data-sync/pipelines/db';
import { TEST_DATABASE_URL } from '@data-sync/test-services';
import { describeWithService } from '@data-sync/test-services';
import { scratchDatabase } from '@data-sync/test-services/scratch-database';
import { startFakeConstantContact, type ConstantContactFake } from '@data-sync/vendor-fakes/constant_contact';
import { testSealer } from '@data-sync/vendor-fakes/constant_contact/sealer';
import type { ConnectorContext } from '../connector';
import { constantContact, constantContactConfigSchema } from '../marketing/constant_contact';
import { INTEGRATION_MIGRATIONS } from '../migrations';
import { SqlTokenStore } from './sql-token-store';

const KEY = randomBytes(32);
const sealer = testSealer(KEY);
const WORKER = path.join(__dirname, '../../test/fakes/constant_contact/pull-worker.ts');
const ROOT = path.join(__dirname, '../..');

function connectorFor(fake: ConstantContactFake, context: ConnectorContext) {
  return constantContact.create(
    constantContactConfigSchema.parse({
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      refreshToken: fake.refreshToken,
      baseUrl: fake.url,
      tokenUrl: `${fake.url}/oauth2/default/v1/token`,
      requestsPerSecond: 1000,
    }),
    context,
  );
}

/** The unsealed tokens in the store's table, and whether any row holds a token in the clear. */
async function stored(db: Db): Promise<{ refreshToken: string; accessToken: string; clear: boolean }> {
  const { rows } = await db.query<{ sealed: string }>('SELECT sealed FROM integration_oauth_tokens');
  expect(rows).toHaveLength(1);
  const tokens = JSON.parse(await sealer.unseal(rows[0].sealed));
  return {
    ...tokens,
    clear: rows[0].sealed.includes(tokens.refreshToken) || rows[0].sealed.includes(tokens.accessToken),
  };
}

/**
 * A fetch that, before each API call reaches the vendor, checks the access token it carries is the
 * one in the store: nothing is used before it is stored.
 */
function checkedFetch(db: Db, problems: string[]): typeof fetch {
  return (async (input: URL | string, init?: RequestInit) => {
    const auth = (init?.headers as Record<string, string> | undefined)?.authorization ?? '';
    if (auth.startsWith('Bearer ')) {
      const { accessToken } = await stored(db);
      if (accessToken !== auth.slice(7)) problems.push(`used ${auth.slice(7, 20)}… before storing it`);
    }
    return fetch(input, init);
  }) as typeof fetch;
}

function runWorker(
  fakeUrl: string,
  databaseUrl: string,
): Promise<{ ok: boolean; kind?: string; message?: string; records?: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, FAKE_URL: fakeUrl, DATABASE_URL: databaseUrl, SEAL_KEY: KEY.toString('base64') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('error', reject);
    child.on('exit', () => {
      try {
        resolve(JSON.parse(out));
      } catch {
        reject(new Error(`worker printed no result: ${out} ${err}`));
      }
    });
  });
}

describeWithService('OAuth rotation on PostgreSQL, two worker processes', TEST_DATABASE_URL, () => {
  const scratch = scratchDatabase('oauth_rotation');
  let db: Db;
  let fake: ConstantContactFake;
  beforeAll(async () => {
    await scratch.create();
    db = openPostgres(scratch.url);
    await migrate(db, INTEGRATION_MIGRATIONS);
  });
  afterAll(async () => {
    await db?.close();
    await scratch.drop();
  });
  beforeEach(async () => {
    await db.query('DELETE FROM integration_oauth_tokens');
    fake = await startFakeConstantContact({ seed: { contacts: 3 }, rotateRefreshTokens: true, perSecond: 1000 });
  });
  afterEach(() => fake.close());

  test('two workers refresh once between them, a restarted worker continues with the rotated token, stored sealed', async () => {
    const [a, b] = await Promise.all([runWorker(fake.url, scratch.url), runWorker(fake.url, scratch.url)]);
    expect([a, b]).toEqual([
      { ok: true, records: 3 },
      { ok: true, records: 3 },
    ]);
    expect(fake.state.tokenGrants).toBe(1);
    const first = await stored(db);
    expect(first.clear).toBe(false);
    expect(fake.state.refreshTokens).toEqual(new Set([first.refreshToken]));

    // The access token expires; both workers want a new one at once, then a fresh process starts.
    fake.expireAccessTokens();
    const again = await Promise.all([runWorker(fake.url, scratch.url), runWorker(fake.url, scratch.url)]);
    expect(again).toEqual([
      { ok: true, records: 3 },
      { ok: true, records: 3 },
    ]);
    expect(fake.state.tokenGrants).toBe(2);
    fake.expireAccessTokens();
    expect(await runWorker(fake.url, scratch.url)).toEqual({ ok: true, records: 3 });
    expect(fake.state.tokenGrants).toBe(3);
    const last = await stored(db);
    expect(last.refreshToken).not.toBe(first.refreshToken);
    expect(fake.state.refreshTokens).toEqual(new Set([last.refreshToken]));
  });

  test('every rotated token is in the store before a call uses it', async () => {
    const problems: string[] = [];
    const store = new SqlTokenStore(db, sealer);
    const connector = connectorFor(fake, { tokenStore: store, fetch: checkedFetch(db, problems) });
    await connector.pull('contacts', null);
    fake.expireAccessTokens();
    await connector.pull('contacts', null);
    expect(fake.state.tokenGrants).toBe(2);
    expect(problems).toEqual([]);
  });

  test('a revoked grant is an auth error that says to reauthorize, in every worker', async () => {
    expect(await runWorker(fake.url, scratch.url)).toMatchObject({ ok: true });
    fake.revokeAuth();
    const results = await Promise.all([runWorker(fake.url, scratch.url), runWorker(fake.url, scratch.url)]);
    for (const result of results)
      expect(result).toMatchObject({
        ok: false,
        kind: 'auth',
        message: expect.stringMatching(/invalid_grant.*reauthorize/),
      });
  });
});

describe('OAuth rotation on PGlite, two workers in one process and a restart', () => {
  let dir: string;
  let fake: ConstantContactFake;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'oauth-pglite-'));
    fake = await startFakeConstantContact({ seed: { contacts: 2 }, rotateRefreshTokens: true, perSecond: 1000 });
  });
  afterEach(async () => {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('two connector instances share one refresh; after reopening the database the rotated token is used', async () => {
    let db = await openPglite(dir);
    await migrate(db, INTEGRATION_MIGRATIONS);
    const problems: string[] = [];
    const workers = [0, 1].map(() =>
      connectorFor(fake, { tokenStore: new SqlTokenStore(db, sealer), fetch: checkedFetch(db, problems) }),
    );
    await Promise.all(workers.map((w) => w.pull('contacts', null)));
    expect(fake.state.tokenGrants).toBe(1);
    fake.expireAccessTokens();
    await Promise.all(workers.map((w) => w.pull('contacts', null)));
    expect(fake.state.tokenGrants).toBe(2);
    const before = await stored(db);
    expect(before.clear).toBe(false);
    await db.close();

    db = await openPglite(dir);
    try {
      fake.expireAccessTokens();
      const restarted = connectorFor(fake, {
        tokenStore: new SqlTokenStore(db, sealer),
        fetch: checkedFetch(db, problems),
      });
      expect((await restarted.pull('contacts', null)).records).toHaveLength(2);
      expect(fake.state.tokenGrants).toBe(3);
      expect((await stored(db)).refreshToken).not.toBe(before.refreshToken);
      expect(problems).toEqual([]);
    } finally {
      await db.close();
    }
  });
});
