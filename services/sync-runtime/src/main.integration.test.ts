import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const MAIN = path.join(__dirname, 'main.ts');
const ROOT = path.resolve(__dirname, '../../..');

function startMain(dataDir: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      DATA_SYNC_DATA_DIR: dataDir,
      PORT: '0',
      LOG_LEVEL: 'warn',
      DATA_SYNC_SHUTDOWN_MS: '2000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c) => (stdout += c));
  child.stderr!.on('data', (c) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const output = () => ({ stdout, stderr });
  const waitFor = async (pattern: RegExp, timeoutMs = 60_000) => {
    const until = Date.now() + timeoutMs;
    while (!pattern.test(stdout)) {
      if (Date.now() > until || child.exitCode !== null)
        throw new Error(`no ${pattern} in output: ${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return pattern.exec(stdout)!;
  };
  return { child, exited, output, waitFor };
}

describe('main', () => {
  let dir: string;
  const children: ChildProcess[] = [];
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'main-it-'));
  });
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('first start prints the URL and an admin token; a second process on the same data directory refuses; SIGTERM stops cleanly', async () => {
    const first = startMain(dir);
    children.push(first.child);
    const [, url] = await first.waitFor(/listening on (http:\/\/\S+) /);
    const [, token] = await first.waitFor(/\n {2}(dst_\S+)/);
    expect(fs.existsSync(path.join(dir, 'encryption.key'))).toBe(true);
    const status = await fetch(`${url}/api/sync/status`, { headers: { authorization: `Bearer ${token}` } });
    expect(status.status).toBe(200);
    expect((await fetch(`${url}/api/sync/status`)).status).toBe(401);

    const second = startMain(dir);
    children.push(second.child);
    expect(await second.exited).toBe(2);
    expect(second.output().stderr).toContain(`is in use by process ${first.child.pid}`);

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(fs.existsSync(path.join(dir, 'data-sync.lock'))).toBe(false);

    // A restart keeps the data and the token, and prints no new token.
    const again = startMain(dir);
    children.push(again.child);
    const [, url2] = await again.waitFor(/listening on (http:\/\/\S+) /);
    expect((await fetch(`${url2}/api/sync/status`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(
      200,
    );
    expect(again.output().stdout).not.toContain('dst_');
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  }, 180_000);

  test('a bad variable stops start-up with a message naming it', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, PORT: 'eighty' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain('Invalid environment variable PORT');
  }, 60_000);
});
