/**
 * The data-sync CLI against the real runtime (API, engine, store queue and worker on PGlite), through
 * HTTP only: what an operator types, what it prints, and its exit codes.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { IntegrationError, type ConnectorModule } from '@data-sync/integrations/connector';
import { toSalesforce, sfTime } from '@data-sync/pipelines/testing/generate';
import { createPipelinesApi } from '@data-sync/sync-runtime/src/api/pipelines-adapter';
import { createHarness, Harness } from '@data-sync/sync-runtime/src/api/testing/harness';
import { DEMO_CONFIG, demoConnector, slowDemoConnector } from '@data-sync/sync-runtime/src/api/testing/demo-connector';
import { main } from './src/main';

const BIN = path.join(__dirname, 'data-sync.js');
/** Pages commit slowly enough to be followed one by one. */
const slowDemo = slowDemoConnector(250);
/** A source whose credentials were revoked: every pull fails for good (no retry). */
const revoked: ConnectorModule = {
  ...demoConnector,
  system: 'revoked',
  create(config) {
    return {
      ...demoConnector.create(config as never),
      async pull() {
        throw new IntegrationError('revoked', 'auth', 'API key revoked', 401);
      },
    };
  },
};

let h: Harness;
let dir: string;
let env: NodeJS.ProcessEnv;

async function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    env,
    io: { out: (s) => void (stdout += s), err: (s) => void (stderr += s), tty: false },
  });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  h = await createHarness({ worker: true, connectors: { demo: slowDemo, revoked } });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'h-cli-test-'));
  env = { DATA_SYNC_CONFIG: path.join(dir, 'conf', 'config.json') };
});
afterAll(async () => {
  await h.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('login', () => {
  test('a wrong token is refused in one line and nothing is stored', async () => {
    const result = await cli('login', h.url, '--token', 'not-a-token');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('data-sync: GET /api/sync/status: 401 invalid or revoked API token\n');
    expect(fs.existsSync(env.DATA_SYNC_CONFIG!)).toBe(false);
  });

  test('an unreachable runtime is named with the reason', async () => {
    // A port that was just free: nothing listens there.
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const result = await cli('login', `http://127.0.0.1:${port}`, '--token', h.auth.admin);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`data-sync: cannot reach http://127.0.0.1:${port}: ECONNREFUSED\n`);
  });

  test('keeps the URL and a checked token in a file only its owner can read', async () => {
    const result = await cli('login', `${h.url}/`, '--token', h.auth.admin);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const file = env.DATA_SYNC_CONFIG!;
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ url: h.url, token: h.auth.admin });
  });

  test('without a login, a command says how to log in', async () => {
    let said = '';
    const file = path.join(dir, 'missing.json');
    const code = await main(['status'], {
      env: { DATA_SYNC_CONFIG: file },
      io: { out: () => undefined, err: (s) => void (said += s), tty: false },
    });
    expect(code).toBe(1);
    expect(said).toBe(
      'data-sync: not logged in: run "data-sync login <url>" (or set DATA_SYNC_URL and DATA_SYNC_TOKEN); ' +
        `looked in ${file}\n`,
    );
  });
});

describe('integrations', () => {
  test('add checks the config and names what is wrong; list and test show the new one', async () => {
    const bad = await cli('integrations', 'add', 'crm', '--system', 'demo', '--config', '{"baseUrl": "nope"}');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^data-sync: POST \/api\/integrations: 400 .*baseUrl.*\n$/);
    expect((await cli('integrations', 'add', 'crm', '--system', 'demo', '--config', '{not json')).stderr).toMatch(
      /^data-sync: --config is not valid JSON/,
    );

    fs.writeFileSync(path.join(dir, 'crm.json'), JSON.stringify(DEMO_CONFIG));
    const added = await cli(
      'integrations',
      'add',
      'crm',
      '--system',
      'demo',
      '--config',
      `@${path.join(dir, 'crm.json')}`,
      '--objects',
      'contacts',
      '--interval',
      '1d',
    );
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^added crm \(demo, every 1d, objects contacts\), id \S+\n$/);

    const list = await cli('integrations', 'list');
    expect(list.stdout.split('\n')[0]).toMatch(/^NAME\s+SYSTEM\s+ENABLED\s+EVERY\s+OBJECTS\s+ID$/);
    expect(list.stdout).toMatch(/\ncrm\s+demo\s+yes\s+1d\s+contacts\s+\S+\n/);
    const asJson = JSON.parse((await cli('integrations', 'list', '--json')).stdout);
    expect(asJson.integrations[0]).toMatchObject({ name: 'crm', config: { apiKey: '********' } });
    expect(list.stdout + JSON.stringify(asJson)).not.toContain(DEMO_CONFIG.apiKey);

    expect(await cli('integrations', 'test', 'crm')).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^crm: ok: connected to http:\/\/127.0.0.1:1/),
    });
    expect(await cli('integrations', 'test', 'nope')).toMatchObject({
      code: 1,
      stderr: 'data-sync: no integration "nope": data-sync integrations list shows them\n',
    });
  });

  test('a failing connection test exits 1 with the reason', async () => {
    await cli(
      'integrations',
      'add',
      'stale',
      '--system',
      'demo',
      '--config',
      JSON.stringify({ ...DEMO_CONFIG, apiKey: 'revoked-0123456789' }),
      '--disabled',
    );
    expect(await cli('integrations', 'test', 'stale')).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'data-sync: connection test of stale failed: auth: demo: API key revoked\n',
    });
  });
});

describe('sync trigger --wait', () => {
  test('shows each page as it commits and exits 0 when the run succeeds; history lists the run', async () => {
    const result = await cli('sync', 'trigger', 'crm', '--full', '--wait', '--poll', '50');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^queued run [0-9a-f-]{36} of crm$/);
    // Three records at one per page: every page is seen while the run is going, in order.
    expect(lines).toEqual(
      expect.arrayContaining([
        'crm running: 1 page, 1 records (1 accepted, 0 quarantined, 0 duplicates)',
        'crm running: 2 pages, 2 records (2 accepted, 0 quarantined, 0 duplicates)',
      ]),
    );
    expect(lines.at(-1)).toMatch(
      /^run [0-9a-f-]{36} succeeded: 3 pages, 3 records \(3 accepted, 0 quarantined, 0 duplicates\)$/,
    );
    const runId = /^queued run (\S+)/.exec(lines[0])![1];

    const history = JSON.parse((await cli('history', '--integration', 'crm', '--json')).stdout);
    expect(history.runs[0]).toMatchObject({ id: runId, status: 'succeeded', pages: 3, received: 3, full: true });
    expect((await cli('history')).stdout).toMatch(
      new RegExp(`\\n${runId}\\s+crm\\s+pull \\(full\\)\\s+succeeded\\s+3\\s+3\\s+3\\s+0`),
    );
    const status = await cli('status');
    expect(status.stdout).toMatch(new RegExp(`^${h.url.replace(/[.]/g, '\\.')}: ok`));
    expect(status.stdout).toMatch(/\ncrm\s+no\s+\S{8}\s+succeeded\s/);
  });

  test('a failed run exits 1 naming the reason', async () => {
    await cli(
      'integrations',
      'add',
      'gone',
      '--system',
      'revoked',
      '--config',
      JSON.stringify(DEMO_CONFIG),
      '--objects',
      'contacts',
    );
    const result = await cli('sync', 'trigger', 'gone', '--wait', '--poll', '50');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^data-sync: run \S+ of gone failed \(attempt 1\): auth \(HTTP 401\): revoked: API key revoked\n$/,
    );
  });

  test('the installed bin: progress on stdout, exit code 0, and an unknown integration is a one-line 404', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [BIN, ...args], {
          env: { PATH: process.env.PATH, ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c) => (stdout += c));
        child.stderr.on('data', (c) => (stderr += c));
        child.on('exit', (code) => resolve({ code, stdout, stderr }));
      });
    const ok = await run(['sync', 'trigger', 'crm', '--full', '--wait', '--poll', '50']);
    expect(ok).toMatchObject({ code: 0, stderr: '' });
    expect(ok.stdout).toMatch(/crm running: 1 page,/);
    expect(ok.stdout).toMatch(/succeeded: 3 pages, 3 records/);
    const missing = await run(['sync', 'trigger', 'nope']);
    expect(missing).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'data-sync: POST /api/sync/trigger/nope: 404 integration "nope" does not exist\n',
    });
    const usage = await run(['sync', 'trigger']);
    expect(usage).toMatchObject({ code: 2, stderr: "error: missing required argument 'integration'\n" });
  });

  test("a viewer's token may read but not trigger: the 403 says which role is needed", async () => {
    const viewer = { ...env, DATA_SYNC_TOKEN: h.auth.viewer };
    const io = { out: () => undefined, err: (s: string) => void (said += s), tty: false };
    let said = '';
    expect(await main(['sync', 'trigger', 'crm'], { env: viewer, io })).toBe(1);
    expect(said).toBe(
      'data-sync: POST /api/sync/trigger/crm: 403 ' +
        'POST /api/sync/trigger/:integration needs the operator role; this token has viewer\n',
    );
  });
});

describe('quarantine, dead letters, contacts and erasure', () => {
  const MAPPING = 'salesforce_to_internal.Contact';
  const contact = (email: string | null, id: number) =>
    toSalesforce(
      {
        email,
        first_name: 'jane',
        last_name: 'doe',
        phone: '+1 415 555 0100',
        company_name: 'Acme',
        created_at: sfTime(0),
        updated_at: sfTime(1),
      },
      id,
    );

  beforeAll(async () => {
    const result = await createPipelinesApi().runBatch(h.db, {
      integration: 'crm',
      mapping: MAPPING,
      records: [contact('not-an-email', 1), contact('jane@example.com', 2)],
    });
    expect(result).toMatchObject({ quarantined: 1, accepted: 1 });
  });

  test('quarantine list shows the reason per field; replay needs ids or --all and reports what it did', async () => {
    const list = await cli('quarantine', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/\n\d+\s+crm\s+salesforce_to_internal\.Contact\s+1\s+\S+ \S+\s+email: .+\n$/);
    const [item] = JSON.parse((await cli('quarantine', 'list', '--json')).stdout).items;
    expect(item.errors[0]).toMatchObject({ field: 'email', rule: 'format' });

    expect(await cli('quarantine', 'replay')).toMatchObject({
      code: 2,
      stderr: 'data-sync: name the quarantine ids to act on, or pass --all\n',
    });
    expect(await cli('quarantine', 'replay', item.id)).toMatchObject({
      code: 0,
      stdout: 'replayed 1: 0 accepted, 1 still quarantined\n',
    });
    expect(JSON.parse((await cli('quarantine', 'replay', '--all', '--json')).stdout)).toMatchObject({
      received: 1,
      quarantined: 1,
    });
    expect((await cli('quarantine', 'replay', 'x;1')).stderr).toMatch(
      /^data-sync: POST \/api\/pipelines\/quarantine\/replay: 400 .*ids.*\n$/,
    );
  });

  test('dead letters: a job that failed every attempt is listed with its error and redriven', async () => {
    // The harness's queue dead-letters after two attempts; a run id that does not exist fails every time.
    const jobId = await h.queue.enqueue({
      kind: 'sync',
      integration: 'crm',
      payload: { runId: 'no-such-run', full: false },
    });
    for (let i = 0; i < 200 && (await h.queue.depth()).dead === 0; i++) await new Promise((r) => setTimeout(r, 25));
    const list = await cli('dead-letters', 'list');
    expect(list.stdout).toMatch(
      new RegExp(
        `\\n${jobId}\\s+sync\\s+crm\\s+2\\s+\\S+ \\S+\\s+sync job ${jobId}: run no-such-run does not exist\\n`,
      ),
    );
    expect(JSON.parse((await cli('dead-letters', 'list', '--json')).stdout).deadLetters[0]).toMatchObject({
      id: jobId,
      attempts: 2,
    });
    expect(await cli('dead-letters', 'redrive', jobId)).toMatchObject({
      code: 0,
      stdout: '1 job moved back to the queue\n',
    });
  });

  test('contacts get shows a contact; erase needs --yes, then deletes it', async () => {
    const shown = await cli('contacts', 'get', 'jane@example.com');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/\nemail\s+jane@example\.com\n/);
    expect(JSON.parse((await cli('contacts', 'get', 'jane@example.com', '--json')).stdout)).toMatchObject({
      email: 'jane@example.com',
    });

    expect(await cli('erase', 'jane@example.com')).toMatchObject({
      code: 2,
      stderr: 'data-sync: erase deletes jane@example.com everywhere and cannot be undone: pass --yes to confirm\n',
    });
    const erased = await cli('erase', 'jane@example.com', '--yes');
    expect(erased.code).toBe(0);
    expect(erased.stdout).toMatch(/^erased jane@example\.com: .*contacts 1/);
    expect(await cli('contacts', 'get', 'jane@example.com')).toMatchObject({
      code: 1,
      stderr: 'data-sync: GET /api/contacts/jane%40example.com: 404 contact "jane@example.com" does not exist\n',
    });
  });
});
