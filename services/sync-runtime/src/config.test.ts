import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConfigError, loadConfig } from './config';

const key = Buffer.alloc(32, 7).toString('base64');

test('defaults: PGlite in .data, store queue, all roles, port 3000 on loopback', () => {
  const c = loadConfig({});
  expect(c).toMatchObject({
    port: 3000,
    host: '127.0.0.1',
    dataDir: path.resolve('.data'),
    queue: 'store',
    role: 'all',
    logLevel: 'info',
    databaseUrl: undefined,
    n8nUrl: undefined,
    workerBatchSize: 500,
  });
  expect(loadConfig({ DATA_SYNC_WORKER_BATCH_SIZE: '50' }).workerBatchSize).toBe(50);
});

test('a deployed environment runs on its PostgreSQL; PGlite is for development only', () => {
  expect(
    loadConfig({ DATA_SYNC_ENVIRONMENT: 'staging', DATABASE_URL: 'postgres://db.internal/datasync' }),
  ).toMatchObject({ environment: 'staging', databaseUrl: 'postgres://db.internal/datasync' });
  expect(() => loadConfig({ DATA_SYNC_ENVIRONMENT: 'prod' })).toThrow(
    'Invalid environment variable DATABASE_URL: is required in a deployed environment (DATA_SYNC_ENVIRONMENT=prod)',
  );
});

test('migrations are applied by default; DATA_SYNC_MIGRATIONS=check only checks them, never beside the owner URL', () => {
  const db = { DATABASE_URL: 'postgres://data_sync_app@db.internal/datasync' };
  expect(loadConfig(db).migrations).toBe('apply');
  expect(loadConfig({ ...db, DATA_SYNC_MIGRATIONS: 'check' }).migrations).toBe('check');
  expect(() => loadConfig({ ...db, DATA_SYNC_MIGRATIONS: 'skip' })).toThrow(
    expect.objectContaining({ variable: 'DATA_SYNC_MIGRATIONS' }),
  );
  expect(() =>
    loadConfig({
      ...db,
      DATA_SYNC_MIGRATIONS: 'check',
      DATABASE_MIGRATION_URL: 'postgres://data_sync_owner@db.internal/datasync',
    }),
  ).toThrow(/DATA_SYNC_MIGRATIONS: is "check" but DATABASE_MIGRATION_URL is set/);
});

test('DATA_SYNC_TRUST_PROXY is the hop count of the proxies in front; false or unset trusts none', () => {
  expect(loadConfig({ DATA_SYNC_TRUST_PROXY: '2' }).trustProxy).toBe(2);
  expect(loadConfig({ DATA_SYNC_TRUST_PROXY: 'false' }).trustProxy).toBe(0);
  expect(loadConfig({}).trustProxy).toBe(0);
});

test('the blue-green slot the stacks set is kept for GET /health', () => {
  expect(loadConfig({ DATA_SYNC_SLOT: 'green' }).slot).toBe('green');
  expect(loadConfig({}).slot).toBeUndefined();
});

test('REDIS_URL selects the Redis queue unless DATA_SYNC_QUEUE says otherwise', () => {
  expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).queue).toBe('redis');
  expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', DATA_SYNC_QUEUE: 'store' }).queue).toBe('store');
});

test('rotation keys: comma separated, the first one encrypts', () => {
  const other = Buffer.alloc(32, 9).toString('base64');
  expect(loadConfig({ DATA_SYNC_ENCRYPTION_KEY: `${key},${other}` }).encryptionKeys).toEqual([key, other]);
});

test.each([
  [{ PORT: 'eighty' }, 'PORT'],
  [{ PORT: '70000' }, 'PORT'],
  [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
  [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL'],
  [{ DATA_SYNC_QUEUE: 'rabbitmq' }, 'DATA_SYNC_QUEUE'],
  [{ DATA_SYNC_QUEUE: 'redis' }, 'DATA_SYNC_QUEUE'],
  [{ DATA_SYNC_ROLE: 'both' }, 'DATA_SYNC_ROLE'],
  [{ DATA_SYNC_ENCRYPTION_KEY: 'short' }, 'DATA_SYNC_ENCRYPTION_KEY'],
  [{ DATA_SYNC_ENCRYPTION_KEY: Buffer.alloc(16).toString('base64') }, 'DATA_SYNC_ENCRYPTION_KEY'],
  [{ N8N_URL: 'ftp://n8n' }, 'N8N_URL'],
  [{ N8N_URL: 'http://127.0.0.1:5678' }, 'N8N_API_KEY'],
  [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
  [{ DATA_SYNC_RATE_LIMIT: '0' }, 'DATA_SYNC_RATE_LIMIT'],
  [{ DATA_SYNC_WORKER_BATCH_SIZE: '0' }, 'DATA_SYNC_WORKER_BATCH_SIZE'],
  [{ DATA_SYNC_TRUST_PROXY: 'yes' }, 'DATA_SYNC_TRUST_PROXY'],
  [{ DATA_SYNC_TRUST_PROXY: 'true' }, 'DATA_SYNC_TRUST_PROXY'],
  [{ DATA_SYNC_TRUST_PROXY: '-1' }, 'DATA_SYNC_TRUST_PROXY'],
  [{ DATA_SYNC_SLOT: 'purple' }, 'DATA_SYNC_SLOT'],
  [{ DATA_SYNC_ENVIRONMENT: 'prod' }, 'DATABASE_URL'],
  [{ DATA_SYNC_ENVIRONMENT: 'Prod Env', DATABASE_URL: 'postgres://db/x' }, 'DATA_SYNC_ENVIRONMENT'],
])('%j stops start-up naming %s', (env, variable) => {
  expect(() => loadConfig(env)).toThrow(ConfigError);
  expect(() => loadConfig(env)).toThrow(`Invalid environment variable ${variable}:`);
});

describe('metrics remote write (DATA_SYNC_METRICS_REMOTE_WRITE_URL and _TOKEN)', () => {
  const url = 'https://ingest.prws.us-south.monitoring.cloud.ibm.com/prometheus/remote/write';

  test('absent by default; set, the process sends to the URL with the token', () => {
    expect(loadConfig({}).metricsRemoteWrite).toBeUndefined();
    expect(
      loadConfig({ DATA_SYNC_METRICS_REMOTE_WRITE_URL: url, DATA_SYNC_METRICS_REMOTE_WRITE_TOKEN: ' t0ken ' })
        .metricsRemoteWrite,
    ).toEqual({ url, token: 't0ken' });
  });

  test('the token must come with the URL, and the URL with the token', () => {
    expect(() => loadConfig({ DATA_SYNC_METRICS_REMOTE_WRITE_URL: url })).toThrow(
      'Invalid environment variable DATA_SYNC_METRICS_REMOTE_WRITE_TOKEN: is required when DATA_SYNC_METRICS_REMOTE_WRITE_URL is set',
    );
    expect(() => loadConfig({ DATA_SYNC_METRICS_REMOTE_WRITE_TOKEN: 't' })).toThrow(
      'Invalid environment variable DATA_SYNC_METRICS_REMOTE_WRITE_TOKEN: is set without DATA_SYNC_METRICS_REMOTE_WRITE_URL',
    );
  });

  test('the URL is https, http only for a local receiver with DATA_SYNC_ALLOW_LOCAL_VENDORS', () => {
    const local = {
      DATA_SYNC_METRICS_REMOTE_WRITE_URL: 'http://127.0.0.1:9/write',
      DATA_SYNC_METRICS_REMOTE_WRITE_TOKEN: 't',
    };
    expect(() => loadConfig(local)).toThrow(
      'Invalid environment variable DATA_SYNC_METRICS_REMOTE_WRITE_URL: must be an https:// URL',
    );
    expect(loadConfig({ ...local, DATA_SYNC_ALLOW_LOCAL_VENDORS: 'true' }).metricsRemoteWrite?.url).toBe(
      'http://127.0.0.1:9/write',
    );
    expect(() =>
      loadConfig({ DATA_SYNC_METRICS_REMOTE_WRITE_URL: 'ftp://x/write', DATA_SYNC_METRICS_REMOTE_WRITE_TOKEN: 't' }),
    ).toThrow('Invalid environment variable DATA_SYNC_METRICS_REMOTE_WRITE_URL: must be a URL starting with');
  });
});

describe('cloud queue bindings', () => {
  test('DATA_SYNC_QUEUE=sqs reads the queue URLs', () => {
    const config = loadConfig({
      DATA_SYNC_QUEUE: 'sqs',
      DATA_SYNC_SQS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/q',
      DATA_SYNC_SQS_DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/1/q-dlq',
    });
    expect(config.queue).toBe('sqs');
    expect(config.cloudQueue).toMatchObject({
      queueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/q',
      deadLetterQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/q-dlq',
    });
  });

  test('a cloud queue without its variables stops start-up naming the missing one', () => {
    expect(() => loadConfig({ DATA_SYNC_QUEUE: 'sqs' })).toThrow(/DATA_SYNC_SQS_QUEUE_URL/);
    expect(() => loadConfig({ DATA_SYNC_QUEUE: 'pubsub' })).toThrow(/DATA_SYNC_PUBSUB_/);
    expect(() => loadConfig({ DATA_SYNC_QUEUE: 'kafka' })).toThrow(/DATA_SYNC_QUEUE/);
  });
});

describe('secrets from mounted files (<NAME>_FILE)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'config-secrets-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const secretFile = (name: string, content: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, content);
    return file;
  };

  test('the encryption key, database URL and n8n key are read from their files, without the trailing newline', () => {
    const config = loadConfig({
      DATA_SYNC_ENCRYPTION_KEY_FILE: secretFile('key', `${key}\n`),
      DATABASE_URL_FILE: secretFile('db', 'postgres://datasync@db.internal:5432/postgres\n'),
      N8N_URL: 'http://127.0.0.1:5678',
      N8N_API_KEY_FILE: secretFile('n8n', 'n8n-api-key'),
    });
    expect(config).toMatchObject({
      encryptionKeys: [key],
      databaseUrl: 'postgres://datasync@db.internal:5432/postgres',
      n8nApiKey: 'n8n-api-key',
    });
  });

  test('a file value is validated like the variable itself', () => {
    expect(() => loadConfig({ DATA_SYNC_ENCRYPTION_KEY_FILE: secretFile('short', 'c2hvcnQ=\n') })).toThrow(
      'Invalid environment variable DATA_SYNC_ENCRYPTION_KEY: must be base64 of exactly 32 bytes',
    );
  });

  test.each([
    [
      { DATA_SYNC_ENCRYPTION_KEY_FILE: '/nonexistent/key' },
      'DATA_SYNC_ENCRYPTION_KEY_FILE',
      'names a file that cannot be read (ENOENT): /nonexistent/key',
    ],
    [
      { DATA_SYNC_ENCRYPTION_KEY: 'x', DATA_SYNC_ENCRYPTION_KEY_FILE: '/run/secrets/key' },
      'DATA_SYNC_ENCRYPTION_KEY_FILE',
      'is set together with DATA_SYNC_ENCRYPTION_KEY',
    ],
  ])('%j stops start-up naming %s', (env, variable, message) => {
    expect(() => loadConfig(env)).toThrow(`Invalid environment variable ${variable}: ${message}`);
  });
});
