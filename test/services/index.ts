import * as net from 'net';

/** PostgreSQL for tests: TEST_DATABASE_URL, default this machine's trust-auth server. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** Redis for tests: TEST_REDIS_URL or REDIS_URL, default 127.0.0.1:6379. */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** In CI (REQUIRE_SERVICES=1) a missing service fails the test instead of skipping it. */
export const servicesRequired = process.env.REQUIRE_SERVICES === '1';

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(false));
  });
}

/**
 * Whether `url`'s service is up. When it is not: throws under REQUIRE_SERVICES=1, otherwise
 * prints why the tests that need it are skipped and returns false.
 */
export async function serviceAvailable(name: string, url: string): Promise<boolean> {
  if (await reachable(url)) return true;
  const message = `${name} is not reachable at ${url}`;
  if (servicesRequired) throw new Error(`${message} (REQUIRE_SERVICES=1)`);
  console.warn(`skipping ${name} tests: ${message}`);
  return false;
}

/**
 * `describe` for a suite that needs a service: runs it when the service is up, fails it when the
 * service is missing under REQUIRE_SERVICES=1, skips it visibly otherwise. Decided before jest
 * collects tests, through a synchronous probe.
 */
export function describeWithService(name: string, url: string, fn: () => void): void {
  const up = probeSync(url);
  if (up) return describe(name, fn);
  const message = `${name}: service not reachable at ${url}`;
  if (servicesRequired) {
    describe(name, () => {
      test('service is reachable (REQUIRE_SERVICES=1)', () => {
        throw new Error(message);
      });
    });
  } else {
    console.warn(`skipping ${message}`);
    describe.skip(name, fn);
  }
}

function probeSync(url: string): boolean {
  const { hostname, port } = new URL(url);
  const { spawnSync } = require('child_process') as typeof import('child_process');
  const script = `const s=require('net').connect({host:${JSON.stringify(hostname)},port:${Number(port)}},()=>process.exit(0));s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(1),1000);`;
  return spawnSync(process.execPath, ['-e', script]).status === 0;
}

export { startServiceBusFake, type ServiceBusFake } from './servicebus-fake';
