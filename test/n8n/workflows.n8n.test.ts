/**
 * The deployed n8n shape against a real n8n (the pinned version, installed into a cache on first run):
 * the GCP staging stack (every workflow published, queue mode) is synthesized, and its three n8n
 * containers (main, `n8n worker`, `n8n webhook`) are started with their commands and environments
 * unchanged on loopback, with the secrets they name supplied here and only the addresses Terraform
 * would fill (database, Redis, ports, vendor base URLs) replaced: the database is the local server's Unix
 * socket where Cloud Run mounts Cloud SQL's (POSTGRES_SOCKET_DIR). Main's start step provisions the
 * credentials and workflows; then each workflow runs, through the webhook process and the worker,
 * against the vendor fakes, local PostgreSQL and this service's real API, and the runtime's
 * /api/workflows routes run against this n8n with the client its config builds.
 */
import { generateKeyPairSync } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Client } from 'pg';
import { buildApp } from '../../app';
import { CREDENTIALS, WEBHOOK_AUTH_HEADER } from '@data-sync/n8n/credentials';
import { WEBHOOKS } from '@data-sync/n8n/webhooks';
import { SALESFORCE_CONTACT_SYNC_ID } from '@data-sync/n8n/workflows/salesforce-contact-sync';
import { MAILCHIMP_SUBSCRIBER_SYNC_ID } from '@data-sync/n8n/workflows/mailchimp-subscriber-sync';
import { MINDSDB_QUERY_ID } from '@data-sync/n8n/workflows/mindsdb-query';
import { SYNC_FAILURE_ALERT_ID, TRIGGER_SYNC_ID } from '@data-sync/n8n/workflows/data-sync-api';
import { N8N_METRIC_LIST } from '@data-sync/monitoring/n8n-metrics';
import { migrate, openPostgres } from '@data-sync/pipelines/db';
import { PIPELINE_MIGRATIONS } from '@data-sync/pipelines';
import { bearer, createHarness, type Harness } from '@data-sync/sync-runtime/src/api/testing/harness';
import { loadConfig } from '@data-sync/sync-runtime/src/config';
import { n8nClientFor } from '@data-sync/sync-runtime/src/n8n-client';
import { startFakeMailchimp, type MailchimpFake } from '@data-sync/vendor-fakes/mailchimp';
import { startFakeSalesforce, type FakeSalesforce } from '@data-sync/vendor-fakes/salesforce';
import { scratchDatabase } from '@data-sync/test-services/scratch-database';
import { describeWithService, TEST_DATABASE_URL, TEST_REDIS_URL } from '@data-sync/test-services';
import { type Block, resourcesOf, synthJson } from '../support/terraform-checks';
import { startRecorder, type Recorder } from './support/recorder';
import {
  bcryptHash,
  createApiKey,
  ensureN8n,
  freePort,
  n8nCli,
  n8nEnvironment,
  OFFLINE_ENV,
  runN8n,
  type RunningN8n,
} from './support/real-n8n';
import { startVendorProxy, type VendorProxy } from './support/vendor-proxy';

jest.setTimeout(20 * 60_000);

/**
 * This machine's PostgreSQL socket directory, standing in for Cloud Run's `/cloudsql/<connection name>`: the
 * stack's n8n, with no TLS settings, connects through a Unix socket as it does through Cloud SQL's proxy.
 */
const POSTGRES_SOCKET_DIR = process.env.TEST_POSTGRES_SOCKET_DIR ?? '/var/run/postgresql';
const OWNER = { email: 'owner@data-sync.test', password: 'Owner-password-1' };
const WEBHOOK_TOKEN = 'webhook-token-0123456789';
const MINDSDB_KEY = 'mindsdb-key-abcdef';
const MAILCHIMP_KEY = 'fake0000000000000000000000000000-us6';

/** A process's container as deployed: command, plain env, and secret-sourced names. */
interface DeployedProcess {
  readonly command: string[];
  readonly plain: Record<string, string>;
  readonly secretNames: string[];
}

/** The n8n containers of the synthesized GCP staging stack (main, workers, webhook processes). */
function deployedN8nProcesses(): Record<'main' | 'worker' | 'webhook', DeployedProcess> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-synth-'));
  try {
    const [stack] = buildApp({ context: { clouds: 'gcp', environment: 'staging' }, outdir }).stacks;
    const services = resourcesOf(synthJson(stack), 'google_cloud_run_v2_service');
    const named = (suffix: string): DeployedProcess => {
      const [, service] = services.find(([, s]) => String(s.name).endsWith(suffix))!;
      const container = ((service.template as Block).containers as Block[])[0];
      const env = container.env as { name: string; value?: string; value_source?: unknown }[];
      return {
        command: container.command as string[],
        plain: Object.fromEntries(env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!])),
        secretNames: env
          .filter((e) => e.value_source !== undefined)
          .map((e) => e.name)
          .sort(),
      };
    };
    return { main: named('-n8n'), worker: named('-n8n-workers'), webhook: named('-n8n-webhooks') };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

describeWithService('n8n as deployed, against a real n8n', TEST_DATABASE_URL, () => {
  const store = scratchDatabase('n8n_store');
  const data = scratchDatabase('n8n_data');
  let n8n: RunningN8n;
  let worker: RunningN8n;
  let webhooks: RunningN8n;
  let salesforce: FakeSalesforce;
  let mailchimp: MailchimpFake;
  let proxy: VendorProxy;
  let mindsdb: Recorder;
  let alerts: Recorder;
  let runtime: Harness;
  let sql: Client;
  let binDirs: string[];
  let env: NodeJS.ProcessEnv;
  let command: string[];
  let webhookCommand: string[];
  let webhookEnv: NodeJS.ProcessEnv;
  const userFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-home-'));

  beforeAll(async () => {
    const installed = ensureN8n();
    binDirs = installed.binDirs;
    await Promise.all([store.create(), data.create()]);
    const dataDb = openPostgres(data.url);
    await migrate(dataDb, PIPELINE_MIGRATIONS);
    await dataDb.close();
    sql = new Client({ connectionString: data.url });
    await sql.connect();
    // The application's users table the design's subscriber sync reads.
    await sql.query(
      'CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL, first_name text, last_name text, created_at timestamptz NOT NULL DEFAULT now())',
    );

    const keys = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    salesforce = await startFakeSalesforce({
      jwtPublicKey: keys.publicKey,
      acceptMyDomainAudience: true,
      username: 'integration@data-sync.test',
      seed: { Account: 2, Contact: 3 },
    });
    mailchimp = await startFakeMailchimp({ apiKey: MAILCHIMP_KEY, seed: { newsletter: 0 } });
    proxy = await startVendorProxy({ 'us6.api.mailchimp.com': mailchimp.url });
    mindsdb = await startRecorder((r) =>
      r.path === '/api/v1/query' && r.headers.authorization === `Bearer ${MINDSDB_KEY}`
        ? { status: 200, body: { type: 'table', column_names: ['answer'], data: [['42']] } }
        : { status: 401, body: { error: 'unauthorized' } },
    );
    alerts = await startRecorder(() => ({ status: 200, body: { ok: true } }));
    runtime = await createHarness({ n8n: null });

    const processes = deployedN8nProcesses();
    const deployed = processes.main;
    command = deployed.command;
    expect(deployed.secretNames).toEqual([
      'DB_POSTGRESDB_PASSWORD',
      'N8N_CREDENTIALS',
      'N8N_ENCRYPTION_KEY',
      'N8N_INSTANCE_OWNER_EMAIL',
      'N8N_INSTANCE_OWNER_PASSWORD_HASH',
      'QUEUE_BULL_REDIS_HOST',
      'QUEUE_BULL_REDIS_PASSWORD',
      'QUEUE_BULL_REDIS_PORT',
    ]);
    for (const role of ['worker', 'webhook'] as const)
      expect(processes[role].secretNames).toEqual([
        'DB_POSTGRESDB_PASSWORD',
        'N8N_ENCRYPTION_KEY',
        'QUEUE_BULL_REDIS_HOST',
        'QUEUE_BULL_REDIS_PASSWORD',
        'QUEUE_BULL_REDIS_PORT',
      ]);
    const dataUrl = new URL(data.url);
    const storeUrl = new URL(store.url);
    const redisUrl = new URL(TEST_REDIS_URL);
    const secrets = {
      N8N_ENCRYPTION_KEY: 'test-encryption-key-0123456789abcdef',
      N8N_INSTANCE_OWNER_EMAIL: OWNER.email,
      N8N_INSTANCE_OWNER_PASSWORD_HASH: bcryptHash(installed.cacheDir, OWNER.password),
      DB_POSTGRESDB_PASSWORD: 'unused-with-trust-auth',
      QUEUE_BULL_REDIS_HOST: redisUrl.hostname,
      QUEUE_BULL_REDIS_PORT: redisUrl.port || '6379',
      // The local Redis has no password (QUEUE_BULL_REDIS_PASSWORD stays unset).
      N8N_CREDENTIALS: JSON.stringify({
        webhook: { value: WEBHOOK_TOKEN },
        salesforce: {
          clientId: salesforce.state.clientId,
          username: 'integration@data-sync.test',
          privateKey: keys.privateKey,
          myDomainUrl: salesforce.url,
        },
        postgres: {
          host: dataUrl.hostname,
          port: Number(dataUrl.port),
          database: dataUrl.pathname.slice(1),
          user: dataUrl.username,
          password: 'unused-with-trust-auth',
          ssl: 'disable',
        },
        mailchimp: { apiKey: MAILCHIMP_KEY },
        mindsdb: { token: MINDSDB_KEY },
        dataSyncApi: { token: runtime.auth.operator },
        settings: {
          MAILCHIMP_NEWSLETTER_LIST_ID: mailchimp.listId('newsletter'),
          ALERT_WEBHOOK_URL: `${alerts.url}/alert`,
        },
      }),
    };
    const [port, workerPort, webhookPort] = [await freePort(), await freePort(), await freePort()];
    // Every process reaches the database on Cloud Run's Cloud SQL socket; here, on the local server's socket.
    for (const p of Object.values(processes))
      expect(p.plain.DB_POSTGRESDB_HOST).toMatch(
        /^\/cloudsql\/\$\{google_sql_database_instance\.\w+\.connection_name\}$/,
      );
    // What Terraform fills in on GCP (the Cloud SQL connection, the service URLs), pointed at this machine.
    const addresses = {
      DB_POSTGRESDB_HOST: POSTGRES_SOCKET_DIR,
      DB_POSTGRESDB_PORT: storeUrl.port || '5432',
      DB_POSTGRESDB_DATABASE: storeUrl.pathname.slice(1),
      DB_POSTGRESDB_USER: storeUrl.username,
      DATA_SYNC_API_URL: runtime.url,
      MINDSDB_API_URL: mindsdb.url,
      N8N_PORT: String(port),
      // The public URL of the webhooks: the webhook process's.
      WEBHOOK_URL: `http://127.0.0.1:${webhookPort}/`,
      // The local Redis has no TLS; its own key prefix keeps other tests' queues apart.
      QUEUE_BULL_REDIS_TLS: 'false',
      QUEUE_BULL_PREFIX: `n8n-test-${process.pid}-${Date.now()}`,
    };
    const unresolved = Object.values(processes).flatMap((p) =>
      Object.entries(p.plain).filter(([name, value]) => value.includes('${') && !(name in addresses)),
    );
    expect(unresolved).toEqual([]);
    /** One process's environment: what the stack gives it, the secrets it names, this machine's addresses. */
    const processEnv = async (p: DeployedProcess, own: Record<string, string>) =>
      n8nEnvironment(binDirs, {
        ...p.plain,
        ...addresses,
        ...Object.fromEntries(Object.entries(secrets).filter(([name]) => p.secretNames.includes(name))),
        ...OFFLINE_ENV,
        N8N_USER_FOLDER: userFolder,
        N8N_RUNNERS_BROKER_PORT: String(await freePort()),
        HTTPS_PROXY: proxy.url,
        NO_PROXY: '127.0.0.1,localhost',
        NODE_EXTRA_CA_CERTS: proxy.caFile,
        ...own,
      });
    env = await processEnv(deployed, {});
    n8n = await runN8n({ command, env, port, probe: WEBHOOKS.salesforceContact.path, timeoutMs: 10 * 60_000 });
    webhookCommand = processes.webhook.command;
    webhookEnv = await processEnv(processes.webhook, { N8N_PORT: String(webhookPort) });
    [worker, webhooks] = await Promise.all([
      runN8n({
        command: processes.worker.command,
        env: await processEnv(processes.worker, {
          N8N_PORT: String(workerPort),
          QUEUE_HEALTH_CHECK_PORT: String(workerPort),
        }),
        port: workerPort,
        probe: WEBHOOKS.salesforceContact.path,
        readiness: { port: workerPort },
        timeoutMs: 5 * 60_000,
      }),
      runN8n({
        command: webhookCommand,
        env: webhookEnv,
        port: webhookPort,
        probe: WEBHOOKS.salesforceContact.path,
        timeoutMs: 5 * 60_000,
      }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([webhooks?.stop(), worker?.stop()]);
    await n8n?.stop();
    await sql?.end();
    await Promise.all([
      salesforce?.close(),
      mailchimp?.close(),
      proxy?.close(),
      mindsdb?.close(),
      alerts?.close(),
      runtime?.close(),
    ]);
    await Promise.all([store.drop(), data.drop()]);
    fs.rmSync(userFolder, { recursive: true, force: true });
  });

  // Callers reach the webhook processes (the stacks' webhook URLs); the worker runs the executions.
  const hook = (webhook: { path: string }, body: unknown, token = WEBHOOK_TOKEN) =>
    fetch(`${webhooks.url}/webhook/${webhook.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [WEBHOOK_AUTH_HEADER]: token },
      body: JSON.stringify(body),
    });

  test('the owner exists from the environment: the setup page cannot be claimed', async () => {
    const claim = await fetch(`${n8n.url}/rest/owner/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: 'attacker@example.com',
        firstName: 'a',
        lastName: 'b',
        password: 'Attacker-password-1',
      }),
    });
    expect(claim.status).toBe(400);
    await expect(createApiKey(n8n.url, OWNER.email, OWNER.password)).resolves.toMatch(/\S{20,}/);
  });

  test("main's /metrics, as deployed, exposes every n8n metric the monitoring catalog alerts on", async () => {
    const metrics = await (await fetch(`${n8n.url}/metrics`)).text();
    const exposed = new Set(
      metrics.split('\n').flatMap((line) => /^# TYPE (\S+) (\S+)$/.exec(line)?.slice(1, 2) ?? []),
    );
    expect(N8N_METRIC_LIST.map((m) => m.name).filter((name) => !exposed.has(name))).toEqual([]);
  });

  test('a Salesforce contact event gives a contacts row (company from its account), and a repeat changes nothing', async () => {
    const [contactId] = salesforce.ids('Contact');
    const contact = salesforce.state.objects.get('Contact')!.get(contactId)!;
    const account = salesforce.state.objects.get('Account')!.get(String(contact.AccountId))!;
    expect((await hook(WEBHOOKS.salesforceContact, { contactId }, 'wrong-token')).status).toBe(403);
    const answer = await hook(WEBHOOKS.salesforceContact, { contactId });
    expect([answer.status, await answer.text()]).toEqual([
      200,
      expect.stringContaining(String(contact.Email).toLowerCase()),
    ]);
    const row = async () =>
      (await sql.query('SELECT email, first_name, last_name, phone, company_name, source, created_at FROM contacts'))
        .rows;
    const first = await row();
    expect(first).toEqual([
      {
        email: String(contact.Email).toLowerCase(),
        first_name: contact.FirstName,
        last_name: contact.LastName,
        phone: contact.Phone,
        company_name: account.Name,
        source: 'salesforce',
        created_at: new Date(String(contact.CreatedDate).replace('+0000', 'Z')),
      },
    ]);
    expect((await hook(WEBHOOKS.salesforceContact, { contactId })).status).toBe(200);
    expect(await row()).toEqual(first);
  });

  test('the schedule workflow, executed, adds the users created in the last 15 minutes to the newsletter', async () => {
    await sql.query(`INSERT INTO users (email, first_name, last_name, created_at) VALUES
      ('new.one@example.com', 'New', 'One', now() - interval '2 minutes'),
      ('new.two@example.com', 'New', 'Two', now()),
      ('old.user@example.com', 'Old', 'User', now() - interval '2 hours')`);
    await n8nCli(binDirs, { ...env, N8N_RUNNERS_BROKER_PORT: String(await freePort()) }, [
      'execute',
      `--id=${MAILCHIMP_SUBSCRIBER_SYNC_ID}`,
    ]);
    expect(mailchimp.members('newsletter').map((m) => [m.email_address, m.status, m.merge_fields])).toEqual([
      ['new.one@example.com', 'subscribed', { FNAME: 'New', LNAME: 'One' }],
      ['new.two@example.com', 'subscribed', { FNAME: 'New', LNAME: 'Two' }],
    ]);
    // The real node called Mailchimp's own host; only the proxy's certificate made it reach the fake.
    expect(proxy.connects).toContain('us6.api.mailchimp.com:443');
  });

  test('a MindsDB query goes to MindsDB with the bearer key, and its answer comes back', async () => {
    const answer = await hook(WEBHOOKS.mindsdbQuery, { query: 'How many contacts signed up this week?' });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ type: 'table', column_names: ['answer'], data: [['42']] });
    const request = mindsdb.requests.at(-1)!;
    expect([request.method, request.path, request.headers.authorization, JSON.parse(request.body)]).toEqual([
      'POST',
      '/api/v1/query',
      `Bearer ${MINDSDB_KEY}`,
      { query: 'How many contacts signed up this week?' },
    ]);
  });

  test('the failure alert, executed, posts each run that failed since the last check to the alert webhook', async () => {
    await runtime.db.query(`INSERT INTO sync_runs (id, integration, status, actor, error, finished_at) VALUES
      ('run-failed-now', 'salesforce', 'failed', 'schedule', 'Salesforce answered 503', now() - interval '1 minute'),
      ('run-failed-before', 'salesforce', 'failed', 'schedule', 'older failure', now() - interval '1 hour')`);
    await n8nCli(binDirs, { ...env, N8N_RUNNERS_BROKER_PORT: String(await freePort()) }, [
      'execute',
      `--id=${SYNC_FAILURE_ALERT_ID}`,
    ]);
    // The published copy in the running n8n polls on its own 5-minute schedule too, and may post the same
    // failure when that tick falls into this test: each alert is the recent failure, never the older one.
    const posted = alerts.requests.map((r) => JSON.stringify([r.method, r.path, JSON.parse(r.body).text]));
    expect(posted.length).toBeGreaterThanOrEqual(1);
    expect([...new Set(posted)].map((a) => JSON.parse(a))).toEqual([
      ['POST', '/alert', 'Data sync run run-failed-now of salesforce failed: Salesforce answered 503'],
    ]);
  });

  test('the trigger workflow starts a sync through this service API with the operator token', async () => {
    const created = await runtime.inject({
      method: 'POST',
      url: '/api/integrations',
      headers: bearer(runtime.auth.admin),
      payload: {
        name: 'crm_demo',
        system: 'demo',
        objects: ['contacts'],
        config: { baseUrl: 'http://127.0.0.1:1', apiKey: 'demo-api-key', webhookSecret: 'demo-webhook-secret' },
      },
    });
    expect(created.statusCode).toBe(201);
    const answer = await hook(WEBHOOKS.triggerSync, { integration: 'crm_demo' });
    expect(answer.status).toBe(200);
    const { runId } = (await answer.json()) as { runId: string };
    const history = await runtime.inject({
      method: 'GET',
      url: '/api/sync/history?integration=crm_demo',
      headers: bearer(runtime.auth.viewer),
    });
    expect(history.json().runs.map((r: { id: string }) => r.id)).toContain(runId);
  });

  test('the runtime /api/workflows routes work against this n8n', async () => {
    const apiKey = await createApiKey(n8n.url, OWNER.email, OWNER.password);
    const api = await createHarness({
      n8n: n8nClientFor(loadConfig({ N8N_URL: n8n.url, N8N_API_KEY: apiKey, N8N_WEBHOOK_TOKEN: WEBHOOK_TOKEN })),
      db: runtime.db,
    });
    try {
      const list = await api.inject({
        method: 'GET',
        url: '/api/workflows?limit=250',
        headers: bearer(api.auth.viewer),
      });
      expect(list.statusCode).toBe(200);
      const listed = Object.fromEntries(
        list.json().workflows.map((w: { id: string; active: boolean }) => [w.id, w.active]),
      );
      expect(listed).toEqual({
        [SALESFORCE_CONTACT_SYNC_ID]: true,
        [MAILCHIMP_SUBSCRIBER_SYNC_ID]: true,
        [MINDSDB_QUERY_ID]: true,
        [TRIGGER_SYNC_ID]: true,
        [SYNC_FAILURE_ALERT_ID]: true,
      });

      const status = await api.inject({
        method: 'GET',
        url: `/api/workflows/${SALESFORCE_CONTACT_SYNC_ID}/status`,
        headers: bearer(api.auth.viewer),
      });
      expect(status.json()).toMatchObject({
        workflow: { id: SALESFORCE_CONTACT_SYNC_ID, active: true },
        lastStatus: 'success',
        executions: expect.arrayContaining([
          expect.objectContaining({ workflowId: SALESFORCE_CONTACT_SYNC_ID, mode: 'webhook' }),
        ]),
      });

      const off = await api.inject({
        method: 'POST',
        url: `/api/workflows/${SALESFORCE_CONTACT_SYNC_ID}/activate`,
        headers: bearer(api.auth.operator),
        payload: { active: false },
      });
      expect(off.json()).toMatchObject({ id: SALESFORCE_CONTACT_SYNC_ID, active: false });
      // Deactivating removes the production webhook asynchronously inside n8n, so the route's own guard is what is checked here.
      const after = await api.inject({
        method: 'GET',
        url: `/api/workflows/${SALESFORCE_CONTACT_SYNC_ID}/status`,
        headers: bearer(api.auth.viewer),
      });
      expect(after.json().workflow.active).toBe(false);
      const inactive = await api.inject({
        method: 'POST',
        url: '/api/workflows/execute',
        headers: bearer(api.auth.operator),
        payload: { workflowId: SALESFORCE_CONTACT_SYNC_ID, payload: {} },
      });
      expect([inactive.statusCode, inactive.json().error]).toEqual([409, 'workflow_not_runnable']);
      const on = await api.inject({
        method: 'POST',
        url: `/api/workflows/${SALESFORCE_CONTACT_SYNC_ID}/activate`,
        headers: bearer(api.auth.operator),
      });
      expect(on.json()).toMatchObject({ active: true });
      const run = await api.inject({
        method: 'POST',
        url: '/api/workflows/execute',
        headers: bearer(api.auth.operator),
        payload: { workflowId: MINDSDB_QUERY_ID, payload: { query: 'Which accounts grew fastest?' } },
      });
      expect(run.json()).toEqual({
        workflowId: MINDSDB_QUERY_ID,
        status: 200,
        response: { type: 'table', column_names: ['answer'], data: [['42']] },
      });
      expect(JSON.parse(mindsdb.requests.at(-1)!.body)).toEqual({ query: 'Which accounts grew fastest?' });
      expect(
        (
          await api.inject({
            method: 'GET',
            url: '/api/workflows/nosuchworkflow1/status',
            headers: bearer(api.auth.viewer),
          })
        ).statusCode,
      ).toBe(404);
      expect((await api.inject({ method: 'GET', url: '/health/n8n' })).json().status).toBe('ok');
    } finally {
      await api.close();
    }
  });

  test("/api/workflows/execute: n8n's webhook refuses the runtime without N8N_WEBHOOK_TOKEN, or with a wrong one, and accepts it with the credential's value", async () => {
    const apiKey = await createApiKey(n8n.url, OWNER.email, OWNER.password);
    const execute = async (token: string | undefined) => {
      const api = await createHarness({
        n8n: n8nClientFor(loadConfig({ N8N_URL: n8n.url, N8N_API_KEY: apiKey, N8N_WEBHOOK_TOKEN: token })),
        db: runtime.db,
      });
      try {
        const response = await api.inject({
          method: 'POST',
          url: '/api/workflows/execute',
          headers: bearer(api.auth.operator),
          payload: { workflowId: MINDSDB_QUERY_ID, payload: { query: 'How many contacts?' } },
        });
        return { status: response.statusCode, body: response.json() };
      } finally {
        await api.close();
      }
    };
    const queries = mindsdb.requests.length;
    for (const token of [undefined, 'not-the-webhook-token']) {
      const refused = await execute(token);
      expect(refused).toMatchObject({
        status: 502,
        body: { error: 'n8n_unavailable', details: { kind: 'auth', status: 403 } },
      });
      expect(refused.body.message).toContain('N8N_WEBHOOK_TOKEN');
    }
    expect(mindsdb.requests.length).toBe(queries);
    expect(await execute(WEBHOOK_TOKEN)).toEqual({
      status: 202,
      body: {
        workflowId: MINDSDB_QUERY_ID,
        status: 200,
        response: { type: 'table', column_names: ['answer'], data: [['42']] },
      },
    });
    expect(JSON.parse(mindsdb.requests.at(-1)!.body)).toEqual({ query: 'How many contacts?' });
  });

  test('a restart provisions again without changing anything that did not change, and the webhooks answer', async () => {
    const inventory = async () => {
      const client = new Client({ connectionString: store.url });
      await client.connect();
      try {
        const workflows = (await client.query('SELECT id, name, nodes, connections FROM workflow_entity ORDER BY id'))
          .rows;
        const credentials = (await client.query('SELECT id, name, type FROM credentials_entity ORDER BY id')).rows;
        return { workflows, credentials };
      } finally {
        await client.end();
      }
    };
    const before = await inventory();
    expect(before.credentials.map((c) => c.id).sort()).toEqual(
      Object.values(CREDENTIALS)
        .map((c) => c.id)
        .sort(),
    );
    await n8n.stop();
    n8n = await runN8n({
      command,
      env,
      port: Number(env.N8N_PORT),
      probe: WEBHOOKS.salesforceContact.path,
      timeoutMs: 10 * 60_000,
    });
    expect(await inventory()).toEqual(before);
    const [, contactId] = salesforce.ids('Contact');
    expect((await hook(WEBHOOKS.salesforceContact, { contactId })).status).toBe(200);
    expect((await sql.query('SELECT count(*)::int AS n FROM contacts')).rows[0].n).toBe(2);
  });
});
