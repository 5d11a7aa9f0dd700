import { randomBytes } from 'crypto';
import pino from 'pino';
import { TEST_DATABASE_URL, describeWithService } from '@data-sync/test-services';
import { startFakeSecretsManager } from '../test/support/fake-secrets-manager';
import { TestStore, openTestPostgres } from '../test/support/store';
import { migrate } from '@data-sync/pipelines/db';
import { ConfigError } from './config';
import { SqsRecord, bootLambdaEngine, createLambdaHandler, createSqsHandler, jobFromSqsRecord } from './lambda';
import { storeQueue } from './queue/openers/store';
import { SchemaNotMigratedError } from './runtime/runtime';
import { MIGRATIONS } from './store/migrations';
import type { Job } from './queue/binding';

const logger = pino({ level: 'silent' });
const message = (messageId: string, body: unknown, receiveCount = '1'): SqsRecord => ({
  messageId,
  body: typeof body === 'string' ? body : JSON.stringify(body),
  attributes: { ApproximateReceiveCount: receiveCount, SentTimestamp: '1700000000000' },
});

describe('SQS messages as jobs', () => {
  test('a job body becomes a job: its id (or the message id), attempts from the receive count, enqueue time from SentTimestamp', () => {
    expect(
      jobFromSqsRecord(message('m1', { id: 'j1', kind: 'sync', integration: 'crm', payload: { runId: 'r' } }, '3')),
    ).toEqual({
      id: 'j1',
      kind: 'sync',
      integration: 'crm',
      payload: { runId: 'r' },
      attempts: 3,
      enqueuedAt: new Date(1700000000000),
    });
    expect(jobFromSqsRecord({ messageId: 'm2', body: '{"kind":"probe","payload":{"probeId":"p"}}' })).toMatchObject({
      id: 'm2',
      kind: 'probe',
      attempts: 1,
    });
    // A retried job is a new message carrying its earlier deliveries and first enqueue time.
    expect(
      jobFromSqsRecord(
        message('m6', { id: 'j6', kind: 'sync', payload: null, enqueuedAt: 1600000000000, attemptsBefore: 2 }, '1'),
      ),
    ).toMatchObject({
      id: 'j6',
      attempts: 3,
      enqueuedAt: new Date(1600000000000),
    });
  });

  test('a body that is not JSON or not a job is rejected with a message naming the problem', () => {
    expect(() => jobFromSqsRecord(message('m3', '{oops'))).toThrow('message m3: not a job message (body is not JSON)');
    expect(() => jobFromSqsRecord(message('m4', { kind: 'launch', payload: 1 }))).toThrow(
      /message m4: not a job message \(kind: Invalid enum value/,
    );
    expect(() => jobFromSqsRecord(message('m5', [1, 2]))).toThrow(
      /message m5: not a job message \(body: Expected object/,
    );
  });
});

describe('the SQS handler', () => {
  test('handles every record and reports only the failed ones (ReportBatchItemFailures)', async () => {
    const seen: Job[] = [];
    const handle = createSqsHandler({
      logger,
      engine: async () => ({
        handle: async (job: Job) => {
          seen.push(job);
          if (job.payload === 'bad') throw new Error('vendor down');
        },
      }),
    });
    const result = await handle({
      Records: [
        message('ok', { kind: 'webhook', integration: 'x', payload: 'fine' }),
        message('fails', { kind: 'sync', payload: 'bad' }, '2'),
        message('garbage', 'not json'),
      ],
    });
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'fails' }, { itemIdentifier: 'garbage' }] });
    expect(seen.map((j) => [j.id, j.attempts])).toEqual([
      ['ok', 1],
      ['fails', 2],
    ]);
    expect(await handle({ Records: [] })).toEqual({ batchItemFailures: [] });
  });

  test('when the engine cannot start, the whole batch fails so SQS retries it', async () => {
    const handle = createSqsHandler({ logger, engine: async () => Promise.reject(new Error('database unreachable')) });
    await expect(handle({ Records: [message('a', { kind: 'probe', payload: {} })] })).rejects.toThrow(
      'database unreachable',
    );
  });

  test('without DATABASE_URL or DATA_SYNC_ENCRYPTION_KEY the Lambda refuses to boot, naming the variable', async () => {
    await expect(bootLambdaEngine({}, logger)).rejects.toThrow(expect.objectContaining({ variable: 'DATABASE_URL' }));
    await expect(bootLambdaEngine({ DATABASE_URL: 'postgres://127.0.0.1:1/none' }, logger)).rejects.toBeInstanceOf(
      ConfigError,
    );
    await expect(bootLambdaEngine({ DATABASE_URL: 'postgres://127.0.0.1:1/none' }, logger)).rejects.toThrow(
      /DATA_SYNC_ENCRYPTION_KEY/,
    );
  });
});

/** The store's queue for follow-up jobs, so these tests need no SQS (the e2e and boot tests use fauxqs). */
const STORE_QUEUE = { queues: { store: storeQueue } };

describeWithService('the Lambda against PostgreSQL', TEST_DATABASE_URL, () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await openTestPostgres('lambda');
  });
  afterAll(() => store.drop());

  test('refuses a queue other than SQS: its follow-up jobs would never reach a Lambda', async () => {
    await expect(
      bootLambdaEngine(
        { DATABASE_URL: store.url, DATA_SYNC_ENCRYPTION_KEY: randomBytes(32).toString('base64') },
        logger,
      ),
    ).rejects.toThrow(expect.objectContaining({ variable: 'DATA_SYNC_QUEUE' }));
  });

  test('boots from the environment and runs the engine job handler: a probe is processed, a sync of an unknown run is reported failed', async () => {
    const handle = createLambdaHandler(
      { DATABASE_URL: store.url, DATA_SYNC_ENCRYPTION_KEY: randomBytes(32).toString('base64') },
      logger,
      STORE_QUEUE,
    );
    try {
      await store.db.query(`INSERT INTO probe_runs (id) VALUES ('lambda-probe')`);
      const result = await handle({
        Records: [
          message('probe', { kind: 'probe', payload: { probeId: 'lambda-probe' } }),
          message('sync', { kind: 'sync', integration: 'crm', payload: { runId: 'missing' } }),
        ],
      });
      expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'sync' }] });
      const { rows } = await store.db.query(
        `SELECT picked_at IS NOT NULL AS picked, finished_at IS NOT NULL AS finished FROM probe_runs WHERE id = 'lambda-probe'`,
      );
      expect(rows).toEqual([{ picked: true, finished: true }]);
    } finally {
      await handle.close();
    }
  });

  test("boots as the AWS stack deploys it: the key and the serving role's password come from Secrets Manager by ARN", async () => {
    const arn = (name: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}`;
    const url = new URL(store.url!);
    const sm = await startFakeSecretsManager({
      [arn('key')]: randomBytes(32).toString('base64'),
      [arn('password')]: 'from-secrets-manager',
    });
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    url.password = '';
    url.username ||= 'postgres';
    const handle = createLambdaHandler(
      {
        DATABASE_URL: url.toString(),
        DATABASE_PASSWORD_SECRET_ARN: arn('password'),
        DATA_SYNC_ENCRYPTION_KEY_SECRET_ARN: arn('key'),
        AWS_REGION: 'eu-west-1',
        AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url,
      },
      logger,
      STORE_QUEUE,
    );
    try {
      await store.db.query(`INSERT INTO probe_runs (id) VALUES ('lambda-probe-2')`);
      expect(
        await handle({ Records: [message('probe', { kind: 'probe', payload: { probeId: 'lambda-probe-2' } })] }),
      ).toEqual({ batchItemFailures: [] });
      expect(sm.requests.sort()).toEqual([arn('key'), arn('password')]);
    } finally {
      await handle.close();
      await sm.close();
      for (const [name, value] of [
        ['AWS_ACCESS_KEY_ID', saved.id],
        ['AWS_SECRET_ACCESS_KEY', saved.secret],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  test('without migration rights it applies none: a schema lacking some fails the start naming them, and once the owner applies them the next batch runs', async () => {
    const behind = await openTestPostgres('lambda_check');
    const env = {
      DATABASE_URL: behind.url!,
      DATA_SYNC_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      DATA_SYNC_MIGRATIONS: 'check',
    };
    const handle = createLambdaHandler(env, logger, STORE_QUEUE);
    const recorded = async () =>
      (await behind.db.query<{ id: string }>('SELECT id FROM schema_migrations ORDER BY id')).rows.map((r) => r.id);
    try {
      const before = await recorded();
      const missing = MIGRATIONS.map((m) => m.id)
        .filter((id) => !before.includes(id))
        .sort();
      expect(missing.length).toBeGreaterThan(0);
      const probe = message('probe', { kind: 'probe', payload: { probeId: 'lambda-check' } });
      const refused = await handle({ Records: [probe] }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(SchemaNotMigratedError);
      expect((refused as SchemaNotMigratedError).missing).toEqual(missing);
      expect((refused as Error).message).toContain(missing.join(', '));
      expect(await recorded()).toEqual(before);
      // The ECS API's start (the owner's URL) migrates; SQS redelivers the batch, and this time it boots.
      await migrate(behind.db, MIGRATIONS);
      await behind.db.query(`INSERT INTO probe_runs (id) VALUES ('lambda-check')`);
      expect(await handle({ Records: [probe] })).toEqual({ batchItemFailures: [] });
    } finally {
      await handle.close();
      await behind.drop();
    }
  });
});
