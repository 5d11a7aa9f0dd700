import { bearer, createHarness, type Harness } from './testing/harness';
import { signDemo } from './testing/demo-connector';

const SECRET = { apiKey: 'key-live-0123456789', webhookSecret: 'whsec-abcdefghijkl' };
/** The vendor's network, the only one the integration's allowlist admits. */
const VENDOR = '203.0.113.7';
/** Somebody else, who writes the vendor's address into X-Forwarded-For themselves. */
const SPOOFER = '198.51.100.9';

let h: Harness;
beforeAll(async () => {
  // The harness is reached from 127.0.0.1: that is the one load balancer in front of the runtime.
  h = await createHarness({ trustProxy: 1 });
  const payload = {
    name: 'hook_lb',
    system: 'demo',
    objects: ['contacts'],
    webhookAllowlist: ['203.0.113.0/24'],
    config: { baseUrl: 'http://127.0.0.1:1', ...SECRET },
  };
  const created = await h.inject({ method: 'POST', url: '/api/integrations', headers: bearer(h.auth.admin), payload });
  expect(created.statusCode).toBe(201);
});
afterAll(async () => h.close());

function deliver(forwardedFor: string) {
  const body = JSON.stringify({ events: [{ id: `e-${forwardedFor}`, type: 't' }] });
  const signature = signDemo(SECRET.webhookSecret, body);
  const headers = {
    'content-type': 'application/json',
    'x-demo-signature': signature,
    'x-forwarded-for': forwardedFor,
  };
  return h.inject({ method: 'POST', url: '/webhooks/hook_lb', headers, payload: body });
}

test('behind one load balancer the client address is the one the balancer appended', async () => {
  expect((await deliver(VENDOR)).statusCode).toBe(202);
});

test("a client's own X-Forwarded-For entry in front of the balancer's is not taken as its address", async () => {
  const spoofed = await deliver(`${VENDOR}, ${SPOOFER}`);
  expect(spoofed.statusCode).toBe(403);
});

test('every answer tells browsers to keep to HTTPS and not to sniff content types', async () => {
  const res = await h.inject({ method: 'GET', url: '/health' });
  expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
  expect(res.headers['x-content-type-options']).toBe('nosniff');
});
