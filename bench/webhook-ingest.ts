/**
 * Webhook ingest benchmark: autocannon, 50 connections, 10 s, against POST /webhooks/:integration
 * (HMAC verification + durable enqueue before the 202, each request a new event) on the PostgreSQL store
 * binding and on the Redis (BullMQ) binding, beside a Fastify no-op POST route measured in the same run.
 * The server runs in a child process so the load generator does not share its event loop.
 * The last column checks durability: every 202 must be among the jobs queued when the server stops.
 * Then a worker process (the runtime's own wiring: assembleRuntime and createWorker) drains that backlog,
 * and its rate is printed beside the ingest rate it has to keep up with.
 * Run: `npm run bench -- webhook-ingest` (DURATION=<s>, CONNECTIONS=<n>; TEST_DATABASE_URL, TEST_REDIS_URL;
 * PROFILE_DIR=<dir> writes a V8 CPU profile of each server process there, for Chrome DevTools or speedscope).
 */
import { spawn } from 'child_process';
import { createHmac, randomUUID } from 'crypto';
import Fastify from 'fastify';
import { TEST_DATABASE_URL, TEST_REDIS_URL, serviceAvailable } from '@data-sync/test-services';
import type { Job, QueueBinding } from '@data-sync/sync-runtime/src/queue/binding';

interface AutocannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  '2xx': number;
}
// autocannon ships no type declarations: the subset used here.
const autocannon = require('autocannon') as (options: Record<string, unknown>) => Promise<AutocannonResult>;

const DURATION = Number(process.env.DURATION ?? 10);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50);
const SECRET = 'bench-webhook-secret';
type Mode = 'noop' | 'postgres' | 'redis';
type Binding = Exclude<Mode, 'noop'>;

/** The queue a child opens: the same queue (store queue name, BullMQ prefix) for the API and its drain. */
async function openBenchQueue(binding: Binding, db: import('@data-sync/pipelines/db').Db) {
  if (binding === 'postgres') {
    const { createStoreBinding } = await import('@data-sync/sync-runtime/src/queue/store-binding');
    return createStoreBinding({ db, queue: 'bench' });
  }
  const { createBullmqBinding } = await import('@data-sync/sync-runtime/src/queue/bullmq-binding');
  return createBullmqBinding({ url: TEST_REDIS_URL, prefix: process.env.BENCH_QUEUE_PREFIX!, allowVolatile: true });
}

/**
 * The drain side, in a child process: the runtime's worker over the backlog the API left, timed from its
 * start until it has acknowledged every queued webhook job; checks each one's event was recorded and prints
 * the count, the milliseconds and its CPU milliseconds.
 */
async function drain(binding: Binding): Promise<void> {
  const [{ openPostgres }, { assembleRuntime }, { createWorker }, { createLogger }, { Keyring }] = await Promise.all([
    import('@data-sync/pipelines/db'),
    import('@data-sync/sync-runtime/src/runtime/assemble'),
    import('@data-sync/sync-runtime/src/engine/worker'),
    import('@data-sync/sync-runtime/src/logger'),
    import('@data-sync/sync-runtime/src/security/crypto'),
  ]);
  const db = openPostgres(process.env.BENCH_DATABASE_URL!);
  const queue = await openBenchQueue(binding, db);
  const logger = createLogger({ level: 'error' });
  const runtime = assembleRuntime({ db, queue, keyring: Keyring.fromBase64([process.env.BENCH_KEY!]), logger });
  const expected = Number(process.env.BENCH_EXPECT);
  // Timed by the worker's own acknowledgements: polling the database would load the server being measured.
  let acked = 0;
  let allAcked!: () => void;
  const drained = new Promise<void>((resolve) => (allAcked = resolve));
  const count = (jobs: readonly Job[]) => {
    acked += jobs.filter((job) => job.kind === 'webhook').length;
    if (acked >= expected) allAcked();
  };
  const counted: QueueBinding = {
    ...queue,
    ack: async (job) => {
      await queue.ack(job);
      count([job]);
    },
    ackMany: async (jobs) => {
      await queue.ackMany(jobs);
      count(jobs);
    },
  };
  const worker = createWorker({ queue: counted, engine: runtime.engine, logger });
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  worker.start();
  await drained;
  const elapsed = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  await worker.stop(5000);
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM webhook_events WHERE integration = 'bench'`,
  );
  const done = Number(rows[0].n);
  await queue.close();
  await db.close();
  if (done < expected) throw new Error(`${expected} webhook jobs acknowledged, but only ${done} events recorded`);
  process.stdout.write(`DRAINED ${done} ${elapsed.toFixed(1)} ${((cpu.user + cpu.system) / 1000).toFixed(1)}\n`);
}

/** The server side, in the child process: prints its URL, serves until killed. */
async function serve(mode: Mode): Promise<void> {
  if (mode === 'noop') {
    const app = Fastify({ logger: false });
    app.post('/webhooks/:integration', async (_request, reply) => reply.code(202).send({ accepted: 1, jobId: '' }));
    process.stdout.write(`URL ${await app.listen({ port: 0, host: '127.0.0.1' })}\n`);
    return;
  }
  const [
    { openPostgres, migrate },
    { buildApi },
    { createIntegrationStore },
    { createLogger },
    { createMetrics },
    { Keyring },
    { createTokenStore },
    { MIGRATIONS },
    { demoConnector },
    { createRepositories },
  ] = await Promise.all([
    import('@data-sync/pipelines/db'),
    import('@data-sync/sync-runtime/src/api/app'),
    import('@data-sync/sync-runtime/src/store/integrations-repository'),
    import('@data-sync/sync-runtime/src/logger'),
    import('@data-sync/sync-runtime/src/metrics'),
    import('@data-sync/sync-runtime/src/security/crypto'),
    import('@data-sync/sync-runtime/src/store/tokens-repository'),
    import('@data-sync/sync-runtime/src/store/migrations'),
    import('@data-sync/sync-runtime/src/api/testing/demo-connector'),
    import('@data-sync/sync-runtime/src/store/repositories'),
  ]);
  const db = openPostgres(process.env.BENCH_DATABASE_URL!, { max: 20 });
  await migrate(db, MIGRATIONS);
  const keyring = Keyring.fromBase64([process.env.BENCH_KEY!]);
  const integrations = createIntegrationStore(db, keyring);
  await db.query(`DELETE FROM integrations WHERE name = 'bench'`);
  await db.query(`DELETE FROM webhook_events WHERE integration = 'bench'`);
  await integrations.create({
    name: 'bench',
    system: 'demo',
    enabled: true,
    syncInterval: '1h',
    objects: [],
    webhookAllowlist: [],
    config: { baseUrl: 'http://127.0.0.1:1', apiKey: 'bench-api-key', webhookSecret: SECRET },
  });
  const queue = await openBenchQueue(mode, db);
  const unused = () => {
    throw new Error('not used by the webhook route');
  };
  const app = await buildApi({
    repositories: createRepositories(db, { integrations, tokens: createTokenStore(db) }),
    queue,
    metrics: createMetrics(),
    n8n: null,
    pipelines: null,
    connectors: { demo: demoConnector },
    engine: { trigger: unused, reset: unused, probe: unused, status: unused, history: unused, ingest: unused },
    logger: createLogger({ level: 'warn' }),
    config: { rateLimitPerMinute: 100_000_000, webhookRateLimitPerMinute: 100_000_000, disableRequestLogging: true },
  });
  process.stdout.write(`URL ${await app.listen({ port: 0, host: '127.0.0.1' })}\n`);
  process.on('SIGTERM', async () => {
    await app.close();
    const depth = await queue.depth();
    process.stderr.write(`queued ${depth.ready} jobs\n`);
    await queue.close();
    await db.close();
    process.exit(0);
  });
}

const profile = () => (process.env.PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PROFILE_DIR}`] : []);

function startServer(mode: Mode, env: NodeJS.ProcessEnv): Promise<{ url: string; stop: () => Promise<string> }> {
  const child = spawn(process.execPath, [...profile(), '--import', 'tsx', __filename, '--serve', mode], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (c) => (err += c));
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`${mode} server exited with ${code}: ${err}`)));
    child.stdout.on('data', (c) => {
      out += c;
      const match = /URL (\S+)/.exec(out);
      if (match) {
        resolve({
          url: match[1],
          stop: () =>
            new Promise((done) => {
              child.removeAllListeners('exit');
              child.on('exit', () => done(err.trim()));
              child.kill('SIGTERM');
            }),
        });
      }
    });
  });
}

/** Runs the drain child over the backlog of `expected` webhook jobs: the jobs it recorded and the milliseconds. */
function runDrain(
  binding: Binding,
  expected: number,
  env: NodeJS.ProcessEnv,
): Promise<{ jobs: number; ms: number; cpuMs: number }> {
  const child = spawn(process.execPath, [...profile(), '--import', 'tsx', __filename, '--drain', binding], {
    env: { ...process.env, ...env, BENCH_EXPECT: String(expected) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  return new Promise((resolve, reject) =>
    child.on('exit', (code) => {
      const match = /DRAINED (\d+) ([\d.]+) ([\d.]+)/.exec(out);
      if (code === 0 && match) resolve({ jobs: Number(match[1]), ms: Number(match[2]), cpuMs: Number(match[3]) });
      else reject(new Error(`the ${binding} drain exited with ${code}: ${err}${out}`));
    }),
  );
}

/** Deletes the bench queue's keys from the shared Redis (BullMQ leaves its queue's keys behind). */
async function dropRedisKeys(prefix: string): Promise<void> {
  const { default: IORedis } = await import('ioredis');
  const redis = new IORedis(TEST_REDIS_URL);
  try {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

interface Figures {
  name: string;
  reqPerSec: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** 202 answers, and jobs found queued when the server stopped (every 202 must be among them). */
  accepted: number;
  queued?: number;
  /** The worker's rate over that backlog, jobs per second, and its process's CPU per job (µs). */
  drainPerSec?: number;
  drainCpuUs?: number;
}

async function load(name: string, url: string): Promise<Figures> {
  const result = await autocannon({
    url: `${url}/webhooks/bench`,
    connections: CONNECTIONS,
    duration: DURATION,
    requests: [
      {
        method: 'POST',
        // Every request carries a new event id: each one is a real enqueue, not a dedupe hit.
        setupRequest: (request: Record<string, unknown>) => {
          const body = JSON.stringify({ events: [{ id: randomUUID(), type: 'contact.updated' }] });
          return {
            ...request,
            body,
            headers: {
              'content-type': 'application/json',
              'x-demo-signature': createHmac('sha256', SECRET).update(body).digest('hex'),
            },
          };
        },
      },
    ],
  });
  return {
    name,
    reqPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    accepted: result['2xx'],
  };
}

async function main(): Promise<void> {
  const rows: Figures[] = [];
  const noop = await startServer('noop', {});
  rows.push(await load('fastify no-op route (baseline)', noop.url));
  await noop.stop();

  if (await serviceAvailable('PostgreSQL', TEST_DATABASE_URL)) {
    const { Client } = await import('pg');
    const admin = new Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    const dbName = `bench_webhook_${process.pid}`;
    await admin.query(`CREATE DATABASE ${dbName}`);
    const benchUrl = new URL(TEST_DATABASE_URL);
    benchUrl.pathname = `/${dbName}`;
    const { generateKey } = await import('@data-sync/sync-runtime/src/security/crypto');
    try {
      const measureDurable = async (name: string, mode: Binding) => {
        const env = {
          BENCH_DATABASE_URL: benchUrl.toString(),
          BENCH_KEY: generateKey(),
          BENCH_QUEUE_PREFIX: `bench-${process.pid}-${mode}`,
        };
        const server = await startServer(mode, env);
        const figures = await load(name, server.url);
        const said = await server.stop();
        const queued = /queued (\d+) jobs/.exec(said);
        if (!queued) throw new Error(`the ${mode} server did not report its queue depth: ${said}`);
        const drained = await runDrain(mode, Number(queued[1]), env).finally(() =>
          mode === 'redis' ? dropRedisKeys(env.BENCH_QUEUE_PREFIX) : undefined,
        );
        rows.push({
          ...figures,
          queued: Number(queued[1]),
          drainPerSec: drained.jobs / (drained.ms / 1000),
          drainCpuUs: (drained.cpuMs * 1000) / drained.jobs,
        });
      };
      await measureDurable('webhook, PostgreSQL store binding', 'postgres');
      if (await serviceAvailable('Redis', TEST_REDIS_URL))
        await measureDurable('webhook, Redis (BullMQ) binding', 'redis');
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
    }
  }

  const base = rows[0].reqPerSec;
  console.log(`\nwebhook ingest, ${CONNECTIONS} connections, ${DURATION} s each`);
  console.log(
    'name'.padEnd(40),
    'req/s'.padStart(9),
    'p50 ms'.padStart(8),
    'p99 ms'.padStart(8),
    'vs no-op'.padStart(9),
    'non-2xx'.padStart(8),
    'errors'.padStart(7),
    '  202s/queued',
  );
  for (const r of rows) {
    const durable = r.queued === undefined ? '' : `  ${r.accepted}/${r.queued}${r.queued < r.accepted ? ' LOST' : ''}`;
    console.log(
      r.name.padEnd(40),
      r.reqPerSec.toFixed(0).padStart(9),
      String(r.p50).padStart(8),
      String(r.p99).padStart(8),
      `${((r.reqPerSec / base) * 100).toFixed(0)}%`.padStart(9),
      String(r.non2xx).padStart(8),
      String(r.errors).padStart(7),
      durable,
    );
  }
  console.log('\nwebhook drain: the worker over that backlog, beside the rate it arrived at (target >= 100%)');
  console.log(
    'name'.padEnd(40),
    'jobs/s'.padStart(9),
    'ingest'.padStart(9),
    'vs ingest'.padStart(10),
    'worker CPU µs/job'.padStart(18),
  );
  for (const r of rows)
    if (r.drainPerSec !== undefined)
      console.log(
        r.name.padEnd(40),
        r.drainPerSec.toFixed(0).padStart(9),
        r.reqPerSec.toFixed(0).padStart(9),
        `${((r.drainPerSec / r.reqPerSec) * 100).toFixed(0)}%`.padStart(10),
        r.drainCpuUs!.toFixed(0).padStart(18),
      );
  // Requests cut off when the run ends may be queued without their 202 arriving: queued may exceed 202s, never fall short.
  if (rows.some((r) => r.queued !== undefined && r.queued < r.accepted)) process.exitCode = 1;
}

const serveIndex = process.argv.indexOf('--serve');
const drainIndex = process.argv.indexOf('--drain');
if (serveIndex > 0) void serve(process.argv[serveIndex + 1] as Mode);
else if (drainIndex > 0)
  drain(process.argv[drainIndex + 1] as Binding).catch((error) => {
    console.error(error);
    process.exit(1);
  });
else
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
