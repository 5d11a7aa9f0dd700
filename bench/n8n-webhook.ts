/**
 * The same Salesforce contact event two ways, side by side in one run (autocannon, CONNECTIONS
 * connections, DURATION s each):
 *  - through n8n (the pinned version, started with the deployed command and environment): the
 *    `salesforce-contact` webhook reads the contact and its account from the Salesforce fake and upserts
 *    the row into PostgreSQL before it answers;
 *  - through this service's webhook ingest: the same contact as a Salesforce outbound message
 *    (POST /webhooks/salesforce?token=), verified and durably enqueued before the SOAP Ack; the worker
 *    does the fetch and upsert later, off the request path.
 * So the figures compare what a caller waits for in each design, not equal work.
 * Run: `npm run bench -- n8n-webhook` (DURATION=<s>, CONNECTIONS=<n>, TEST_DATABASE_URL; the first run
 * installs n8n into its cache, about 7 minutes).
 */
import { spawn } from 'child_process';
import { generateKeyPairSync, randomUUID } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ENVIRONMENT_CONFIGS } from '@data-sync/config/environments';
import { n8nStart } from '../constructs/n8n/provisioning';
import { WEBHOOK_AUTH_HEADER } from '@data-sync/n8n/credentials';
import { WEBHOOKS } from '@data-sync/n8n/webhooks';
import { buildOutboundMessage } from '@data-sync/integrations/crm/salesforce';
import { startFakeSalesforce } from '@data-sync/vendor-fakes/salesforce';
import { scratchDatabase } from '@data-sync/test-services/scratch-database';
import { TEST_DATABASE_URL, serviceAvailable } from '@data-sync/test-services';
import { bcryptHash, ensureN8n, freePort, n8nEnvironment, OFFLINE_ENV, runN8n } from '../test/n8n/support/real-n8n';

interface AutocannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}
// autocannon ships no type declarations: the subset used here.
const autocannon = require('autocannon') as (options: Record<string, unknown>) => Promise<AutocannonResult>;

const DURATION = Number(process.env.DURATION ?? 10);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 10);
const WEBHOOK_TOKEN = 'bench-webhook-token-0123456789';
const ORG_ID = '00D5e000000KQ2eEAG';
const USERNAME = 'integration@data-sync.test';

/** The runtime's API in a child process (so the load generator has its own event loop). */
async function serve(): Promise<void> {
  const [
    { openPostgres, migrate },
    { buildApi },
    { createIntegrationStore },
    { createLogger },
    { createMetrics },
    { createStoreBinding },
    { Keyring, generateKey },
    { createTokenStore },
    { MIGRATIONS },
    { salesforce },
  ] = await Promise.all([
    import('@data-sync/pipelines/db'),
    import('@data-sync/sync-runtime/src/api/app'),
    import('@data-sync/sync-runtime/src/api/integration-store'),
    import('@data-sync/sync-runtime/src/logger'),
    import('@data-sync/sync-runtime/src/metrics'),
    import('@data-sync/sync-runtime/src/queue/store-binding'),
    import('@data-sync/sync-runtime/src/security/crypto'),
    import('@data-sync/sync-runtime/src/security/token-store'),
    import('@data-sync/sync-runtime/src/store/migrations'),
    import('@data-sync/integrations/crm/salesforce'),
  ]);
  const db = openPostgres(process.env.BENCH_DATABASE_URL!, { max: 20 });
  await migrate(db, MIGRATIONS);
  const integrations = createIntegrationStore(db, Keyring.fromBase64([generateKey()]));
  await integrations.create({
    name: 'salesforce',
    system: 'salesforce',
    enabled: true,
    syncInterval: '1h',
    objects: ['Contact'],
    webhookAllowlist: [],
    config: {
      baseUrl: process.env.BENCH_SALESFORCE_URL!,
      auth: {
        type: 'jwt_bearer',
        clientId: 'fake-client-id',
        username: USERNAME,
        privateKey: process.env.BENCH_PRIVATE_KEY!,
      },
      organizationId: ORG_ID,
      webhookToken: WEBHOOK_TOKEN,
    },
  });
  const unused = () => {
    throw new Error('not used by the webhook route');
  };
  const app = await buildApi({
    db,
    queue: createStoreBinding({ db, queue: 'bench' }),
    integrations,
    tokens: createTokenStore(db),
    metrics: createMetrics(),
    n8n: null,
    pipelines: null,
    connectors: { salesforce },
    engine: { trigger: unused, reset: unused, probe: unused, status: unused, history: unused },
    logger: createLogger({ level: 'warn' }),
    rateLimitPerMinute: 100_000_000,
    webhookRateLimitPerMinute: 100_000_000,
    disableRequestLogging: true,
  });
  process.stdout.write(`URL ${await app.listen({ port: 0, host: '127.0.0.1' })}\n`);
  process.on('SIGTERM', async () => {
    await app.close();
    await db.close();
    process.exit(0);
  });
}

function startRuntime(env: NodeJS.ProcessEnv): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--serve'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (c) => (err += c));
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`runtime exited with ${code}: ${err}`)));
    child.stdout.on('data', (c) => {
      const match = /URL (\S+)/.exec((out += c));
      if (match) resolve({ url: match[1], stop: () => (child.removeAllListeners('exit'), child.kill('SIGTERM')) });
    });
  });
}

interface Figures {
  name: string;
  reqPerSec: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function load(
  name: string,
  url: string,
  request: () => { headers: Record<string, string>; body: string },
): Promise<Figures> {
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: DURATION,
    requests: [{ method: 'POST', setupRequest: (r: Record<string, unknown>) => ({ ...r, ...request() }) }],
  });
  return {
    name,
    reqPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

async function main(): Promise<void> {
  if (!(await serviceAvailable('PostgreSQL', TEST_DATABASE_URL))) return;
  const installed = ensureN8n();
  const keys = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const fake = await startFakeSalesforce({
    jwtPublicKey: keys.publicKey,
    acceptMyDomainAudience: true,
    username: USERNAME,
    seed: { Account: 20, Contact: 500 },
  });
  const contactIds = fake.ids('Contact');
  const contactId = () => contactIds[Math.floor(Math.random() * contactIds.length)];
  const store = scratchDatabase('bench_n8n_store');
  const data = scratchDatabase('bench_n8n_data');
  const runtimeDb = scratchDatabase('bench_n8n_runtime');
  await Promise.all([store.create(), data.create(), runtimeDb.create()]);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-n8n-'));
  const rows: Figures[] = [];
  let stopN8n: (() => Promise<void>) | undefined;
  let stopRuntime: (() => void) | undefined;
  try {
    const { openPostgres, migrate } = await import('@data-sync/pipelines/db');
    const { PIPELINE_MIGRATIONS } = await import('@data-sync/pipelines');
    const contactsDb = openPostgres(data.url);
    await migrate(contactsDb, PIPELINE_MIGRATIONS);
    await contactsDb.close();

    // Only the CRM workflow and the service's own ones are published, as the deployment would with marketing and analytics off.
    const features = {
      ...ENVIRONMENT_CONFIGS.staging.features,
      enableMarketingSync: false,
      enableAnalyticsSync: false,
    };
    const start = n8nStart(features, 'http://127.0.0.1:9');
    const storeUrl = new URL(store.url);
    const dataUrl = new URL(data.url);
    const port = await freePort();
    const env = n8nEnvironment(installed.binDirs, {
      ...start.environment,
      ...OFFLINE_ENV,
      N8N_PORT: String(port),
      N8N_USER_FOLDER: home,
      N8N_RUNNERS_BROKER_PORT: String(await freePort()),
      DB_POSTGRESDB_HOST: storeUrl.hostname,
      DB_POSTGRESDB_PORT: storeUrl.port,
      DB_POSTGRESDB_DATABASE: storeUrl.pathname.slice(1),
      DB_POSTGRESDB_USER: storeUrl.username,
      DB_POSTGRESDB_SSL_ENABLED: 'false',
      N8N_ENCRYPTION_KEY: 'bench-encryption-key-0123456789',
      N8N_INSTANCE_OWNER_EMAIL: 'owner@data-sync.test',
      N8N_INSTANCE_OWNER_PASSWORD_HASH: bcryptHash(installed.cacheDir, 'Owner-password-1'),
      N8N_CREDENTIALS: JSON.stringify({
        webhook: { value: WEBHOOK_TOKEN },
        salesforce: {
          clientId: fake.state.clientId,
          username: USERNAME,
          privateKey: keys.privateKey,
          myDomainUrl: fake.url,
        },
        postgres: {
          host: dataUrl.hostname,
          port: Number(dataUrl.port),
          database: dataUrl.pathname.slice(1),
          user: dataUrl.username,
          password: 'unused',
          ssl: 'disable',
        },
        dataSyncApi: { token: 'unused-in-this-bench' },
        settings: { ALERT_WEBHOOK_URL: 'http://127.0.0.1:9/alert' },
      }),
    });
    console.error('starting n8n (provisioning takes about two minutes)');
    const n8n = await runN8n({
      command: start.command,
      env,
      port,
      probe: WEBHOOKS.salesforceContact.path,
      timeoutMs: 10 * 60_000,
    });
    stopN8n = n8n.stop;
    rows.push(
      await load(
        'n8n workflow (fetch + upsert, then answer)',
        `${n8n.url}/webhook/${WEBHOOKS.salesforceContact.path}`,
        () => ({
          headers: { 'content-type': 'application/json', [WEBHOOK_AUTH_HEADER]: WEBHOOK_TOKEN },
          body: JSON.stringify({ contactId: contactId() }),
        }),
      ),
    );
    await n8n.stop();
    stopN8n = undefined;

    const runtime = await startRuntime({
      BENCH_DATABASE_URL: runtimeDb.url,
      BENCH_SALESFORCE_URL: fake.url,
      BENCH_PRIVATE_KEY: keys.privateKey,
    });
    stopRuntime = runtime.stop;
    rows.push(
      await load(
        'service webhook ingest (verify + enqueue)',
        `${runtime.url}/webhooks/salesforce?token=${WEBHOOK_TOKEN}`,
        () => ({
          headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' },
          body: buildOutboundMessage({
            organizationId: ORG_ID,
            notifications: [
              {
                notificationId: `04l5e${randomUUID().replace(/-/g, '').slice(0, 13)}`,
                object: 'Contact',
                fields: { Id: contactId() },
              },
            ],
          }),
        }),
      ),
    );
  } finally {
    await stopN8n?.();
    stopRuntime?.();
    await fake.close();
    await Promise.all([store.drop(), data.drop(), runtimeDb.drop()]);
    fs.rmSync(home, { recursive: true, force: true });
  }

  const base = rows[rows.length - 1].reqPerSec;
  console.log(`\nSalesforce contact event, ${CONNECTIONS} connections, ${DURATION} s each`);
  console.log(
    'name'.padEnd(44),
    'req/s'.padStart(9),
    'p50 ms'.padStart(8),
    'p99 ms'.padStart(8),
    'vs ingest'.padStart(10),
    'non-2xx'.padStart(8),
    'errors'.padStart(7),
  );
  for (const r of rows) {
    console.log(
      r.name.padEnd(44),
      r.reqPerSec.toFixed(1).padStart(9),
      String(r.p50).padStart(8),
      String(r.p99).padStart(8),
      `${((r.reqPerSec / base) * 100).toFixed(1)}%`.padStart(10),
      String(r.non2xx).padStart(8),
      String(r.errors).padStart(7),
    );
  }
  if (rows.some((r) => r.non2xx > 0 || r.errors > 0)) process.exitCode = 1;
}

if (process.argv.includes('--serve')) void serve();
else
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
