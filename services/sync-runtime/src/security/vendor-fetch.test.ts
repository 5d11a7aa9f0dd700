import * as dns from 'dns';
import * as http from 'http';
import type { AddressInfo } from 'net';
import { createVendorFetch, VendorEgressError } from './vendor-fetch';

/** A local server counting what reaches it: a refused call must not reach it at all. */
let server: http.Server;
let port: number;
let received = 0;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    received++;
    if (req.url === '/redirect-to-metadata') {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, path: req.url }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => (received = 0));

/** A resolver that answers `address` for every name: a vendor-looking name re-bound to a local or metadata address. */
const resolvingTo = (address: string): typeof dns.lookup =>
  ((_host: string, _options: unknown, callback: (e: null, a: dns.LookupAddress[]) => void) =>
    callback(null, [{ address, family: address.includes(':') ? 6 : 4 }])) as unknown as typeof dns.lookup;

const refusal = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VendorEgressError);
  return (error as Error).message;
};

test("a vendor's host that resolves to a loopback address is refused as the socket connects, before any byte is sent", async () => {
  const call = createVendorFetch({ system: 'hubspot', allowLocal: false, lookup: resolvingTo('127.0.0.1') });
  expect(await refusal(call(`https://api.hubapi.com:${port}/crm/v3/objects/contacts`))).toBe(
    'api.hubapi.com resolves to 127.0.0.1, which vendor calls may not reach',
  );
  expect(received).toBe(0);
});

test('a name resolving to the metadata address is refused even with the local-vendor override', async () => {
  const call = createVendorFetch({ system: 'hubspot', allowLocal: true, lookup: resolvingTo('169.254.169.254') });
  expect(await refusal(call(`http://localhost:${port}/latest/meta-data/`))).toContain('resolves to 169.254.169.254');
  const mapped = createVendorFetch({
    system: 'hubspot',
    allowLocal: true,
    lookup: resolvingTo('::ffff:169.254.169.254'),
  });
  expect(await refusal(mapped(`http://localhost:${port}/`))).toContain('which vendor calls may not reach');
  expect(received).toBe(0);
});

test("hosts outside the system's catalog list, http to a vendor, and literal local addresses are refused without a lookup", async () => {
  const call = createVendorFetch({ system: 'hubspot', allowLocal: false, lookup: resolvingTo('127.0.0.1') });
  expect(await refusal(call(`https://collector.attacker.example:${port}/`))).toContain(
    'collector.attacker.example is not a hubspot host',
  );
  expect(await refusal(call(`http://api.hubapi.com:${port}/`))).toContain('hubspot is reached over https only');
  expect(await refusal(call(`http://127.0.0.1:${port}/`))).toContain('127.0.0.1 is a loopback or private address');
  expect(await refusal(call('http://[::1]:1/'))).toContain('::1 is a loopback or private address');
  expect(received).toBe(0);
});

test('with the local-vendor override a fake on loopback answers, and a redirect to the metadata address is refused', async () => {
  const call = createVendorFetch({ system: 'hubspot', allowLocal: true });
  const answer = await call(`http://127.0.0.1:${port}/crm?x=1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  expect(answer.status).toBe(200);
  expect(await answer.json()).toEqual({ ok: true, path: '/crm?x=1' });
  expect(await refusal(call(`http://localhost:${port}/redirect-to-metadata`))).toContain(
    '169.254.169.254 is a link-local or reserved address',
  );
  expect(received).toBe(2);
});
