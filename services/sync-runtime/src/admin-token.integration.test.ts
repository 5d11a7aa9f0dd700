import { randomBytes } from 'crypto';
import { Writable } from 'stream';
import { TEST_DATABASE_URL, describeWithService } from '@data-sync/test-services';
import { scratchDatabase } from '@data-sync/test-services/scratch-database';
import { createLogger } from './logger';
import { start } from './main';

describeWithService('the admin token of a deployed environment', TEST_DATABASE_URL, () => {
  const scratch = scratchDatabase('admin_token');
  const key = randomBytes(32).toString('base64');
  beforeAll(() => scratch.create());
  afterAll(() => scratch.drop());

  /** Starts the API as a stack does (DATA_SYNC_ENVIRONMENT set), capturing what it prints and logs. */
  async function deployed(extra: NodeJS.ProcessEnv) {
    const printed: string[] = [];
    const logged: string[] = [];
    const destination = new Writable({
      write(chunk, _encoding, callback) {
        logged.push(chunk.toString());
        callback();
      },
    });
    const runtime = await start({
      env: {
        DATABASE_URL: scratch.url,
        DATA_SYNC_ENCRYPTION_KEY: key,
        DATA_SYNC_ENVIRONMENT: 'prod',
        DATA_SYNC_ROLE: 'api',
        PORT: '0',
        ...extra,
      },
      logger: createLogger({ level: 'info', destination }),
      print: (line) => printed.push(line),
    });
    const status = (token: string) =>
      fetch(`${runtime.url}/api/tokens`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
    return { runtime, printed, logged, status };
  }

  test('without the secret nothing is printed or logged as a token, and a warning names the secret to fill', async () => {
    const { runtime, printed, logged } = await deployed({});
    try {
      expect(runtime.adminToken).toBeNull();
      expect(printed.join('\n')).not.toMatch(/dst_|admin API token/);
      expect(logged.join('')).not.toMatch(/dst_/);
      expect(logged.join('')).toContain('DATA_SYNC_ADMIN_TOKEN is not set');
    } finally {
      await runtime.stop();
    }
  });

  test('the token from the secret manager is the admin token, never printed, and a new secret value rotates it', async () => {
    const first = `adm-${randomBytes(16).toString('hex')}`;
    const one = await deployed({ DATA_SYNC_ADMIN_TOKEN: first });
    try {
      expect(await one.status(first)).toBe(200);
      expect(await one.status('adm-not-the-token-0000')).toBe(401);
      expect([...one.printed, ...one.logged].join('\n')).not.toContain(first);
    } finally {
      await one.runtime.stop();
    }
    const second = `adm-${randomBytes(16).toString('hex')}`;
    const two = await deployed({ DATA_SYNC_ADMIN_TOKEN: second });
    try {
      expect(await two.status(second)).toBe(200);
      expect(await two.status(first)).toBe(401);
    } finally {
      await two.runtime.stop();
    }
  });
});
