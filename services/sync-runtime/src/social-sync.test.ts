/**
 * Social leads in and audiences out through the real runtime (the API, store queue, engine and every
 * job handler over PGlite) against the Meta Graph, X, LinkedIn and Mailchimp fakes: a lead submitted at Meta is
 * announced by a signed leadgen webhook, pulled into a contact, and pushed as a hashed member to the
 * Instagram Custom Audience, the X custom audience, the LinkedIn Matched Audience and the Mailchimp
 * newsletter; a LinkedIn lead notification brings its lead in; an X mention becomes an event; an opted-out subject is pushed nowhere; a
 * GDPR erasure removes the subject from every audience; Meta's data deletion callback is answered with
 * a confirmation code whose status URL reports the erasure.
 */
import { CONNECTORS } from '@data-sync/integrations/registry';
import { startSocialDemoFakes, type SocialDemoFakes } from '@data-sync/vendor-fakes/demo/social';
import { sha256 } from '@data-sync/integrations/social/meta/audience';
import { signRequest } from '@data-sync/integrations/social/meta/webhook';
import { startFakeMailchimp, type MailchimpFake } from '@data-sync/vendor-fakes/mailchimp';
import { bearer, createHarness, type Harness } from './api/testing/harness';

let h: Harness;
let social: SocialDemoFakes;
let mailchimp: MailchimpFake;

beforeAll(async () => {
  [social, mailchimp] = await Promise.all([
    startSocialDemoFakes({ leads: 0, mentions: 0 }),
    startFakeMailchimp({ seed: { newsletter: 0, product_updates: 0 } }),
  ]);
  h = await createHarness({ connectors: { ...CONNECTORS }, logLevel: 'warn' });
  const common = { enabled: true, syncInterval: '1h', webhookAllowlist: [] };
  await h.integrations.create({
    ...common,
    name: 'facebook',
    system: 'facebook',
    objects: ['leads'],
    pushObjects: ['custom_audience'],
    config: social.configs.facebook,
  });
  await h.integrations.create({
    ...common,
    name: 'instagram',
    system: 'instagram',
    objects: ['leads'],
    pushObjects: ['custom_audience'],
    config: social.configs.instagram,
  });
  await h.integrations.create({
    ...common,
    name: 'x',
    system: 'x',
    objects: ['mentions'],
    pushObjects: ['custom_audience'],
    config: social.configs.x,
  });
  await h.integrations.create({
    ...common,
    name: 'linkedin',
    system: 'linkedin',
    objects: ['leads'],
    pushObjects: ['custom_audience'],
    config: social.configs.linkedin,
  });
  await h.integrations.create({
    ...common,
    name: 'mailchimp',
    system: 'mailchimp',
    objects: ['newsletter'],
    pushObjects: ['newsletter'],
    config: { apiKey: mailchimp.apiKey, baseUrl: mailchimp.url },
  });
}, 60_000);
afterAll(async () => {
  await h?.close();
  await Promise.all([social?.close(), mailchimp?.close()]);
});

/** Runs the worker until no job is ready or delayed (pushes wait out their debounce). */
async function settle(): Promise<void> {
  for (let idle = 0; idle < 2;) {
    if ((await h.drain()) > 0) idle = 0;
    else {
      const waiting = await h.db.query(`SELECT 1 FROM jobs WHERE kind <> 'probe' LIMIT 1`);
      if (waiting.rows.length === 0) idle++;
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

const instagramAudience = () => social.meta.audiences.get(social.meta.audienceIds[1])!;
const facebookAudience = () => social.meta.audiences.get(social.meta.audienceIds[0])!;
const newsletter = () => [...mailchimp.state.lists.values()].find((l) => l.name === 'newsletter')!;
const inNewsletter = (email: string) =>
  [...newsletter().members.values()].some((m) => m.email_address === email && m.status === 'subscribed');

async function submitAndAnnounce(person: { email: string; full_name: string; phone_number: string }) {
  const lead = social.meta.submitLead(person, 'fb');
  const delivery = social.meta.leadgenDelivery(lead);
  const res = await h.inject({
    method: 'POST',
    url: '/webhooks/facebook',
    headers: delivery.headers,
    payload: delivery.body,
  });
  expect(res.statusCode).toBe(202);
  return lead;
}

test('a lead submitted at Meta becomes a contact, then a hashed member of the other audiences and a newsletter subscriber', async () => {
  await submitAndAnnounce({
    email: 'Ada.Lovelace@Example.com',
    full_name: 'Ada Lovelace',
    phone_number: '+44 20 7946 0018',
  });
  await settle();
  const contact = await h.db.query(
    'SELECT email, first_name, last_name, phone, source FROM contacts WHERE email = $1',
    ['ada.lovelace@example.com'],
  );
  expect(contact.rows).toEqual([
    {
      email: 'ada.lovelace@example.com',
      first_name: 'Ada',
      last_name: 'Lovelace',
      phone: expect.stringContaining('7946'),
      source: 'facebook',
    },
  ]);
  const member = instagramAudience().get(sha256('ada.lovelace@example.com'));
  // Normalized, then hashed: nothing readable leaves for the audience.
  expect(member).toEqual([
    sha256('ada.lovelace@example.com'),
    sha256('ada'),
    sha256('lovelace'),
    sha256('442079460018'),
  ]);
  expect(JSON.stringify([...instagramAudience().values()])).not.toMatch(/ada|lovelace/i);
  // Its own source is not echoed back into the Facebook audience.
  expect(facebookAudience().has(sha256('ada.lovelace@example.com'))).toBe(false);
  expect(inNewsletter('ada.lovelace@example.com')).toBe(true);
  expect(social.linkedin.segment.has(sha256('ada.lovelace@example.com'))).toBe(true);
  expect(social.x.audience.get(sha256('ada.lovelace@example.com'))).toEqual({
    email: [sha256('ada.lovelace@example.com')],
    phone_number: [sha256('442079460018')],
  });
}, 60_000);

test('a LinkedIn lead announced by a signed lead notification becomes a contact', async () => {
  const response = social.linkedin.submit({
    email: 'Edsger.Dijkstra@example.com',
    first_name: 'Edsger',
    last_name: 'Dijkstra',
  });
  const notification = social.linkedin.notification(response);
  expect(
    (
      await h.inject({
        method: 'POST',
        url: '/webhooks/linkedin',
        headers: notification.headers,
        payload: notification.body,
      })
    ).statusCode,
  ).toBe(202);
  await settle();
  const contact = await h.db.query('SELECT first_name, last_name, source FROM contacts WHERE email = $1', [
    'edsger.dijkstra@example.com',
  ]);
  expect(contact.rows).toEqual([{ first_name: 'Edsger', last_name: 'Dijkstra', source: 'linkedin' }]);
  expect(instagramAudience().has(sha256('edsger.dijkstra@example.com'))).toBe(true);
  const challenge = await h.inject({
    method: 'GET',
    url: '/webhooks/linkedin?challengeCode=0b6f6b8e-1b1a-4c55-9a53-2f8f2a7c9d10',
  });
  expect(challenge.json()).toEqual({
    challengeCode: '0b6f6b8e-1b1a-4c55-9a53-2f8f2a7c9d10',
    challengeResponse: expect.stringMatching(/^[0-9a-f]{64}$/),
  });
}, 60_000);

test('an X mention announced by a signed Account Activity delivery becomes an x.mention event', async () => {
  const post = social.x.mention('@acme the new release is great');
  const delivery = social.x.activityDelivery(post);
  expect(
    (await h.inject({ method: 'POST', url: '/webhooks/x', headers: delivery.headers, payload: delivery.body }))
      .statusCode,
  ).toBe(202);
  await settle();
  const events = await h.db.query(`SELECT event_id, name, user_id FROM events WHERE source = 'x' AND event_id = $1`, [
    post.id,
  ]);
  expect(events.rows).toEqual([{ event_id: post.id, name: 'x.mention', user_id: post.author_id }]);
  // The CRC check of the same route answers with the consumer secret's HMAC.
  const crc = await h.inject({ method: 'GET', url: '/webhooks/x?crc_token=abc123' });
  expect(crc.statusCode).toBe(200);
  expect(crc.json()).toEqual({ response_token: expect.stringMatching(/^sha256=[A-Za-z0-9+/]+=*$/) });
}, 60_000);

test('the same leadgen delivery again changes nothing', async () => {
  const [lead] = [...social.meta.leads.values()];
  const delivery = social.meta.leadgenDelivery(lead);
  const before = (await h.db.query('SELECT count(*)::int AS n FROM sync_runs')).rows[0].n;
  expect(
    (await h.inject({ method: 'POST', url: '/webhooks/facebook', headers: delivery.headers, payload: delivery.body }))
      .statusCode,
  ).toBe(202);
  await settle();
  expect((await h.db.query('SELECT count(*)::int AS n FROM sync_runs')).rows[0].n).toBe(before);
}, 60_000);

test('a forged leadgen delivery is 401 and queues nothing', async () => {
  const lead = social.meta.submitLead({ email: 'mallory@example.com' }, 'fb');
  const delivery = social.meta.leadgenDelivery(lead);
  const res = await h.inject({
    method: 'POST',
    url: '/webhooks/facebook',
    headers: { ...delivery.headers, 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` },
    payload: delivery.body,
  });
  expect(res.statusCode).toBe(401);
  expect((await h.db.query(`SELECT count(*)::int AS n FROM jobs WHERE kind = 'webhook'`)).rows[0].n).toBe(0);
  social.meta.leads.delete(lead.id);
});

test('a subject who opted out (CCPA) becomes a contact but joins no audience', async () => {
  expect(
    (
      await h.inject({
        method: 'POST',
        url: '/api/compliance/opt-out',
        headers: bearer(h.auth.operator),
        payload: { email: 'grace.hopper@example.com' },
      })
    ).statusCode,
  ).toBe(200);
  await submitAndAnnounce({
    email: 'grace.hopper@example.com',
    full_name: 'Grace Hopper',
    phone_number: '+1 415 555 0100',
  });
  await settle();
  expect((await h.db.query('SELECT 1 FROM contacts WHERE email = $1', ['grace.hopper@example.com'])).rows).toHaveLength(
    1,
  );
  expect(instagramAudience().has(sha256('grace.hopper@example.com'))).toBe(false);
  expect(inNewsletter('grace.hopper@example.com')).toBe(false);
  expect(social.x.audience.has(sha256('grace.hopper@example.com'))).toBe(false);
  expect(social.linkedin.segment.has(sha256('grace.hopper@example.com'))).toBe(false);
}, 60_000);

test('an erased subject leaves every audience, and their leads are deleted at Meta', async () => {
  const email = 'ada.lovelace@example.com';
  const res = await h.inject({
    method: 'POST',
    url: '/api/compliance/erasure',
    headers: bearer(h.auth.admin),
    payload: { email },
  });
  expect(res.statusCode).toBe(202);
  expect(res.json().vendorErasures).toEqual(
    expect.arrayContaining(['facebook', 'instagram', 'x', 'linkedin', 'mailchimp']),
  );
  await settle();
  expect(instagramAudience().has(sha256(email))).toBe(false);
  expect(facebookAudience().has(sha256(email))).toBe(false);
  expect(social.meta.removed.filter((hash) => hash === sha256(email)).length).toBeGreaterThanOrEqual(2);
  expect(
    [...social.meta.leads.values()].some((l) =>
      l.field_data.some((f) => f.values.includes('Ada.Lovelace@Example.com')),
    ),
  ).toBe(false);
  expect(inNewsletter(email)).toBe(false);
  expect(social.x.audience.has(sha256(email))).toBe(false);
  expect(social.linkedin.segment.has(sha256(email))).toBe(false);
  const requests = await h.db.query(
    `SELECT status FROM erasure_requests WHERE integration IN ('facebook', 'instagram', 'x', 'linkedin')`,
  );
  expect(requests.rows.map((r) => r.status)).toEqual(['done', 'done', 'done', 'done']);
}, 60_000);

test("Meta's data deletion callback is answered with a status URL and code, and the status shows the request processed", async () => {
  const secret = String(social.configs.facebook.appSecret);
  const form = new URLSearchParams({
    signed_request: signRequest(secret, { user_id: '10155500000000001', issued_at: 1772366400 }),
  }).toString();
  const res = await h.inject({
    method: 'POST',
    url: '/webhooks/facebook',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: form,
  });
  expect(res.statusCode).toBe(200);
  const answer = res.json() as { url: string; confirmation_code: string };
  expect(answer.confirmation_code).toMatch(/^[0-9a-f]{20}$/);
  const status = new URL(answer.url);
  expect(status.pathname).toBe('/compliance/meta-deletions');
  expect(status.searchParams.get('code')).toBe(answer.confirmation_code);
  expect((await h.inject({ method: 'GET', url: `${status.pathname}${status.search}` })).json()).toMatchObject({
    status: 'pending',
  });
  await settle();
  expect((await h.inject({ method: 'GET', url: `${status.pathname}${status.search}` })).json()).toMatchObject({
    status: 'completed',
    subjectsErased: 0,
  });

  const forged = new URLSearchParams({
    signed_request: signRequest('not-the-app-secret', { user_id: '10155500000000001', issued_at: 1 }),
  }).toString();
  expect(
    (
      await h.inject({
        method: 'POST',
        url: '/webhooks/facebook',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: forged,
      })
    ).statusCode,
  ).toBe(401);
  expect((await h.inject({ method: 'GET', url: '/compliance/meta-deletions?code=%3Cscript%3E' })).statusCode).toBe(400);
}, 60_000);
