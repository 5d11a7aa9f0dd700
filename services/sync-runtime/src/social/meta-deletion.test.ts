/**
 * Meta's data deletion callback finds its subject through the real runtime (API, store queue, every job
 * handler over PGlite): a site's Facebook Login posts its user through `/api/pipelines/ingest` with the
 * app-scoped id, the contact is created and the id linked to it; the signed deletion request naming
 * that id erases the contact (and asks every vendor), the link is forgotten, and the status URL reports
 * one subject erased. A request for an id never seen erases nobody.
 */
import { CONNECTORS } from '@data-sync/integrations/registry';
import { signRequest } from '@data-sync/integrations/social/meta/webhook';
import { startSocialDemoFakes, type SocialDemoFakes } from '@data-sync/vendor-fakes/demo/social';
import { bearer, createHarness, type Harness } from '../api/testing/harness';

let h: Harness;
let social: SocialDemoFakes;

beforeAll(async () => {
  social = await startSocialDemoFakes({ leads: 0, mentions: 0 });
  h = await createHarness({ connectors: { ...CONNECTORS }, logLevel: 'warn' });
  await h.integrations.create({
    enabled: true,
    syncInterval: '1h',
    webhookAllowlist: [],
    name: 'facebook',
    system: 'facebook',
    objects: ['leads'],
    pushObjects: ['custom_audience'],
    config: social.configs.facebook,
  });
}, 60_000);
afterAll(async () => {
  await h?.close();
  await social?.close();
});

async function settle(): Promise<void> {
  while ((await h.drain()) > 0);
}

async function deletionRequest(userId: string): Promise<URL> {
  const secret = String(social.configs.facebook.appSecret);
  const res = await h.inject({
    method: 'POST',
    url: '/webhooks/facebook',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      signed_request: signRequest(secret, { user_id: userId, issued_at: 1772366400 }),
    }).toString(),
  });
  expect(res.statusCode).toBe(200);
  return new URL((res.json() as { url: string }).url);
}

const contactCount = async (email: string) =>
  (await h.db.query('SELECT count(*)::int AS n FROM contacts WHERE email = $1', [email])).rows[0].n;

test('a deletion request naming an app-scoped id seen on ingest erases that subject and forgets the link', async () => {
  const asid = '10155500000000777';
  const ingest = await h.inject({
    method: 'POST',
    url: '/api/pipelines/ingest',
    headers: bearer(h.auth.operator),
    payload: {
      integration: 'facebook',
      mapping: 'facebook_to_internal.leads',
      records: [
        {
          id: 'login-1',
          created_time: '2026-03-01T10:00:00+0000',
          user_id: asid,
          answers: { email: 'Grace.Hopper@Example.com', first_name: 'Grace', last_name: 'Hopper' },
        },
        {
          id: 'login-2',
          created_time: '2026-03-01T10:05:00+0000',
          user_id: '10155500000000888',
          answers: { email: 'alan.turing@example.com', first_name: 'Alan', last_name: 'Turing' },
        },
      ],
    },
  });
  expect(ingest.statusCode).toBe(202);
  await settle();
  expect(await contactCount('grace.hopper@example.com')).toBe(1);
  expect((await h.db.query('SELECT count(*)::int AS n FROM meta_app_users')).rows[0].n).toBe(2);

  const status = await deletionRequest(asid);
  await settle();
  expect((await h.inject({ method: 'GET', url: `${status.pathname}${status.search}` })).json()).toMatchObject({
    status: 'completed',
    subjectsErased: 1,
  });
  expect(await contactCount('grace.hopper@example.com')).toBe(0);
  expect(await contactCount('alan.turing@example.com')).toBe(1);
  const left = await h.db.query('SELECT app_user_id FROM meta_app_users');
  expect(left.rows).toEqual([{ app_user_id: '10155500000000888' }]);
  const vendors = await h.db.query(`SELECT integration FROM erasure_requests`);
  expect(vendors.rows.map((r) => r.integration)).toContain('facebook');
}, 60_000);

test('a deletion request for an id never seen completes with nobody erased', async () => {
  const status = await deletionRequest('10155500000000999');
  await settle();
  expect((await h.inject({ method: 'GET', url: `${status.pathname}${status.search}` })).json()).toMatchObject({
    status: 'completed',
    subjectsErased: 0,
  });
  expect(await contactCount('alan.turing@example.com')).toBe(1);
}, 60_000);
