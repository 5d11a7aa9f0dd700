/** The marketing fakes answer like the vendors where the connectors depend on it. */
import { startFakeConstantContact } from '../constant_contact';
import { startFakeKlaviyo } from '../klaviyo';
import { startFakeMailchimp, subscriberHash } from './index';

describe('Mailchimp fake', () => {
  test('refuses an 11th simultaneous connection with 429 and problem details', async () => {
    // Each call is held long enough that all twelve are in flight together even on a loaded machine.
    const fake = await startFakeMailchimp({ latencyMs: 1500 });
    try {
      const auth = { authorization: `Basic ${Buffer.from(`x:${fake.apiKey}`).toString('base64')}` };
      const responses = await Promise.all(
        Array.from({ length: 12 }, () => fetch(`${fake.url}/3.0/ping`, { headers: auth })),
      );
      const statuses = responses.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 200)).toHaveLength(10);
      const limited = responses.find((r) => r.status === 429)!;
      expect(await limited.json()).toMatchObject({
        status: 429,
        title: 'Too Many Requests',
        type: expect.stringContaining('mailchimp.com'),
      });
    } finally {
      await fake.close();
    }
  });

  test('a wrong key is 401 "API Key Invalid"; a hash that is not the email\'s is 400', async () => {
    const fake = await startFakeMailchimp();
    try {
      const bad = await fetch(`${fake.url}/3.0/ping`, {
        headers: { authorization: `Basic ${Buffer.from('x:nope-us6').toString('base64')}` },
      });
      expect(bad.status).toBe(401);
      expect(await bad.json()).toMatchObject({ title: 'API Key Invalid' });
      const auth = {
        authorization: `Basic ${Buffer.from(`x:${fake.apiKey}`).toString('base64')}`,
        'content-type': 'application/json',
      };
      const put = await fetch(
        `${fake.url}/3.0/lists/${fake.listId('newsletter')}/members/${subscriberHash('a@example.com')}`,
        {
          method: 'PUT',
          headers: auth,
          body: JSON.stringify({ email_address: 'b@example.com', status_if_new: 'subscribed' }),
        },
      );
      expect(put.status).toBe(400);
    } finally {
      await fake.close();
    }
  });
});

describe('Klaviyo fake', () => {
  test('requires the revision header, reports the steady window, and throttles with Retry-After', async () => {
    const fake = await startFakeKlaviyo({ burst: 2, steady: 100 });
    try {
      const headers = { authorization: `Klaviyo-API-Key ${fake.apiKey}` };
      const noRevision = await fetch(`${fake.url}/api/accounts`, { headers });
      expect(noRevision.status).toBe(400);
      const ok = await fetch(`${fake.url}/api/accounts`, { headers: { ...headers, revision: '2026-07-15' } });
      expect(ok.headers.get('ratelimit-limit')).toBe('2, 2;w=1, 100;w=60');
      expect(Number(ok.headers.get('ratelimit-remaining'))).toBe(99);
      expect(
        (await fetch(`${fake.url}/api/accounts`, { headers: { ...headers, revision: '2026-07-15' } })).status,
      ).toBe(200);
      const limited = await fetch(`${fake.url}/api/accounts`, { headers: { ...headers, revision: '2026-07-15' } });
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('1');
      expect(await limited.json()).toMatchObject({ errors: [{ status: 429, code: 'throttled' }] });
    } finally {
      await fake.close();
    }
  });

  test('refuses a bulk import job above 10,000 profiles', async () => {
    const fake = await startFakeKlaviyo();
    try {
      const profiles = Array.from({ length: 10_001 }, (_, i) => ({
        type: 'profile',
        attributes: { email: `p${i}@example.com` },
      }));
      const response = await fetch(`${fake.url}/api/profile-bulk-import-jobs`, {
        method: 'POST',
        headers: {
          authorization: `Klaviyo-API-Key ${fake.apiKey}`,
          revision: '2026-07-15',
          'content-type': 'application/vnd.api+json',
        },
        body: JSON.stringify({
          data: { type: 'profile-bulk-import-job', attributes: { profiles: { data: profiles } } },
        }),
      });
      expect(response.status).toBe(400);
    } finally {
      await fake.close();
    }
  });
});

describe('Constant Contact fake', () => {
  test('API calls need a bearer token from the refresh grant; limit is capped at 500', async () => {
    const fake = await startFakeConstantContact();
    try {
      expect((await fetch(`${fake.url}/v3/contacts`)).status).toBe(401);
      const grant = await fetch(`${fake.url}/oauth2/default/v1/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${fake.clientId}:${fake.clientSecret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: fake.refreshToken }).toString(),
      });
      const { access_token } = (await grant.json()) as { access_token: string };
      const page = await fetch(`${fake.url}/v3/contacts?limit=2`, {
        headers: { authorization: `Bearer ${access_token}` },
      });
      const body = (await page.json()) as { contacts: unknown[]; _links: { next: { href: string } } };
      expect(body.contacts).toHaveLength(2);
      expect(body._links.next.href).toMatch(/^\/v3\/contacts\?.*cursor=/);
      expect(
        (await fetch(`${fake.url}/v3/contacts?limit=501`, { headers: { authorization: `Bearer ${access_token}` } }))
          .status,
      ).toBe(400);
    } finally {
      await fake.close();
    }
  });
});
