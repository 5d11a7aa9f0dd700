/**
 * The pending X authorizations on both stores the runtime runs on (PGlite and PostgreSQL, each through
 * every migration): a state works once even when two callbacks race for it, neither the state nor the
 * verifier is readable in the table, and purging removes only what has expired.
 */
import { createHash, randomBytes } from 'crypto';
import { migrate, openPglite, openPostgres, type Db } from '@data-sync/pipelines/db';
import { TEST_DATABASE_URL, describeWithService } from '@data-sync/test-services';
import { processTokenStore } from '@data-sync/integrations/http/oauth-session';
import { testSealer } from '@data-sync/vendor-fakes/constant_contact/sealer';
import { MIGRATIONS } from '../store/migrations';
import { createXAuthorizationStore, type PendingXAuthorization, type XAuthorizationStore } from './x-authorizations';

const T0 = Date.parse('2026-03-01T09:00:00Z');
const pending = (overrides: Partial<PendingXAuthorization> = {}): PendingXAuthorization => ({
  integrationId: 'integration-1',
  codeVerifier: randomBytes(32).toString('base64url'),
  redirectUri: 'https://sync.example.com/oauth/x/callback',
  createdAt: T0,
  expiresAt: T0 + 600_000,
  ...overrides,
});

function behavesAsTheAuthorizationStore(open: () => Promise<{ db: Db; close: () => Promise<void> }>) {
  let db: Db;
  let close: () => Promise<void>;
  let store: XAuthorizationStore;
  beforeAll(async () => {
    ({ db, close } = await open());
    await migrate(db, MIGRATIONS);
    store = createXAuthorizationStore(db, testSealer(randomBytes(32)), processTokenStore);
  }, 60_000);
  afterAll(async () => close?.());

  test('a state is 32 random bytes (base64url) and gives back what was kept, once', async () => {
    const kept = pending();
    const state = await store.begin(kept);
    expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await store.take(state)).toEqual(kept);
    expect(await store.take(state)).toBeUndefined();
  });

  test('two callbacks racing for one state: exactly one gets the verifier', async () => {
    const state = await store.begin(pending());
    const taken = await Promise.all([store.take(state), store.take(state), store.take(state)]);
    expect(taken.filter(Boolean)).toHaveLength(1);
  });

  test('the table holds neither the state nor the verifier in clear', async () => {
    const kept = pending();
    const state = await store.begin(kept);
    const { rows } = await db.query<Record<string, unknown>>('SELECT * FROM x_authorization_states');
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain(state);
    expect(dump).not.toContain(kept.codeVerifier);
    expect(dump).toContain(createHash('sha256').update(state).digest('hex'));
    await store.take(state);
  });

  test('purging removes the expired authorizations and keeps the pending ones', async () => {
    const old = await store.begin(pending({ expiresAt: T0 - 1 }));
    const fresh = await store.begin(pending({ expiresAt: T0 + 600_000 }));
    expect(await store.purgeExpired(T0)).toBe(1);
    expect(await store.take(old)).toBeUndefined();
    expect(await store.take(fresh)).toBeDefined();
  });
}

describe('on PGlite', () => {
  behavesAsTheAuthorizationStore(async () => {
    const db = await openPglite();
    return { db, close: () => db.close() };
  });
});

describeWithService('on PostgreSQL', TEST_DATABASE_URL, () => {
  behavesAsTheAuthorizationStore(async () => {
    // A schema of its own (through search_path): parallel test files share the test database.
    const schema = `t_x_auth_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
    const admin = openPostgres(TEST_DATABASE_URL, { max: 1 });
    await admin.exec(`CREATE SCHEMA ${schema}`);
    const url = new URL(TEST_DATABASE_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const db = openPostgres(url.toString(), { max: 4 });
    return {
      db,
      async close() {
        await db.close();
        await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
        await admin.close();
      },
    };
  });
});
