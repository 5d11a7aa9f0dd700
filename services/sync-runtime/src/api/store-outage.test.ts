/**
 * A store outage, on a PostgreSQL of this test's own that it stops and starts: a request that needs the
 * store is a 503 with Retry-After (a client's cue to try again), not a 500, and the same request
 * succeeds once the store is back, without restarting the API.
 */
import { openPostgres, type Db } from '@data-sync/pipelines/db';
import {
  privatePostgresAvailable,
  startPrivatePostgres,
  type PrivatePostgres,
} from '../../test/support/private-postgres';
import { OUTAGE_RETRY_AFTER_SECONDS } from './errors';
import { bearer, createHarness, type Harness } from './testing/harness';

const suite = privatePostgresAvailable() ? describe : describe.skip;
if (!privatePostgresAvailable())
  console.warn('skipping the store outage test: no PostgreSQL server binaries (set PG_BIN)');

suite('store outage', () => {
  let pg: PrivatePostgres;
  let db: Db;
  let h: Harness;
  beforeAll(async () => {
    pg = await startPrivatePostgres('outage');
    db = openPostgres(pg.url, { max: 4 });
    h = await createHarness({ db });
    const created = await h.inject({
      method: 'POST',
      url: '/api/integrations',
      headers: bearer(h.auth.admin),
      payload: {
        name: 'crm_outage',
        system: 'demo',
        objects: ['contacts'],
        config: { baseUrl: 'http://127.0.0.1:1', apiKey: 'key-0123456789', webhookSecret: 'whsec-0123456789' },
      },
    });
    expect(created.statusCode).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await h?.close();
    await db?.close();
    await pg?.destroy();
  });

  const trigger = () =>
    h.inject({ method: 'POST', url: '/api/sync/trigger/crm_outage', headers: bearer(h.auth.operator), payload: {} });

  test('POST /api/sync/trigger answers 503 with Retry-After while the store is down, and 202 once it is back', async () => {
    expect((await trigger()).statusCode).toBe(202);

    await pg.stop();
    const down = await trigger();
    expect(down.statusCode).toBe(503);
    expect(down.headers['retry-after']).toBe(String(OUTAGE_RETRY_AFTER_SECONDS));
    expect(down.json()).toMatchObject({ error: 'unavailable', message: expect.stringContaining('retry in') });
    // Liveness does not depend on the store; readiness says it is not ready.
    expect((await h.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    expect((await h.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(503);

    await pg.start();
    // The pool may hand out one connection the restart cut: that request is a 503 too, the next one works.
    let up = await trigger();
    for (let i = 0; i < 5 && up.statusCode === 503; i++) up = await trigger();
    expect(up.statusCode).toBe(202);
    const history = await h.inject({
      method: 'GET',
      url: '/api/sync/history?integration=crm_outage',
      headers: bearer(h.auth.viewer),
    });
    expect(history.json().total).toBe(2);
  }, 120_000);
});
