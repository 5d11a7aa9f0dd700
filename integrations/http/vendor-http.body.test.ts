import * as http from 'http';
import type { AddressInfo } from 'net';
import { IntegrationError } from '../connector';
import { VendorHttp } from './vendor-http';

/** A server whose first `faulty` answers are broken as `mode` says, then answers `{ ok: true }`. */
async function brokenServer(mode: 'cut' | 'invalid-json', faulty: number) {
  let served = 0;
  const server = http.createServer((_req, res) => {
    served++;
    const body = JSON.stringify({ ok: true, padding: 'x'.repeat(200) });
    if (served > faulty) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
      res.end(body);
    } else if (mode === 'invalid-json') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '11' });
      res.end('{"ok": tru}');
    } else {
      // Announces the whole body, sends part of it and drops the connection: a proxy or vendor cut-off.
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
      res.write(body.slice(0, 20));
      setImmediate(() => res.socket?.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    served: () => served,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function client(url: string) {
  const sleeps: number[] = [];
  return {
    sleeps,
    http: new VendorHttp({
      integration: 'acme',
      baseUrl: url,
      context: { sleep: async (ms) => void sleeps.push(ms) },
      random: () => 0.5,
    }),
  };
}

describe.each(['cut', 'invalid-json'] as const)('a %s response body', (mode) => {
  test('is retried like a 5xx and the retried answer is returned parsed', async () => {
    const server = await brokenServer(mode, 2);
    try {
      const { http: vendor, sleeps } = client(server.url);
      await expect(vendor.json({ path: '/x' })).resolves.toMatchObject({ ok: true });
      expect(server.served()).toBe(3);
      expect(sleeps).toHaveLength(2);
    } finally {
      await server.close();
    }
  });

  test('fails with kind unavailable after the bounded attempts, never reaching the caller as text', async () => {
    const server = await brokenServer(mode, 100);
    try {
      const error = (await client(server.url)
        .http.json({ path: '/x' })
        .catch((e: unknown) => e)) as IntegrationError;
      expect(error).toBeInstanceOf(IntegrationError);
      expect(error.kind).toBe('unavailable');
      expect(error.message).toMatch(mode === 'cut' ? /body/ : /JSON/);
      expect(server.served()).toBe(4);
    } finally {
      await server.close();
    }
  });
});
