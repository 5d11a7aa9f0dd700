import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Writable } from 'stream';
import { createLogger } from './logger';
import { prettyStream, terminalDestination } from './pretty-logs';

const ROOT = path.resolve(__dirname, '../../..');

function capture() {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return { destination, text: () => chunks.join('') };
}

describe('createLogger', () => {
  test('JSON lines by default, with secrets redacted', () => {
    const out = capture();
    createLogger({ level: 'info', destination: out.destination }).info(
      { token: 'dst_secret', runId: 'r1' },
      'run queued',
    );
    const line = JSON.parse(out.text());
    expect(line).toMatchObject({ level: 30, msg: 'run queued', runId: 'r1', token: '[redacted]' });
  });

  test('npm run dev picks pretty lines for a terminal only', () => {
    expect(terminalDestination({ isTTY: false })).toBeUndefined();
    expect(terminalDestination({})).toBeUndefined();
    expect(terminalDestination({ isTTY: true })).toBeDefined();
  });

  test('pretty: one human-readable line per entry (time, level, message, fields), still redacted', async () => {
    const out = capture();
    createLogger({ level: 'info', destination: prettyStream(out.destination) }).warn(
      { token: 'dst_secret', runId: 'r1' },
      'run failed',
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(out.text()).toMatch(
      /^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: run failed\n {4}token: "\[redacted\]"\n {4}runId: "r1"\n$/,
    );
    expect(out.text()).not.toContain('dst_secret');
  });
});

describe('npm run dev logs', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logger-dev-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Starts the runtime as npm run dev does (tsx main.ts), optionally on a pseudo-terminal (util-linux `script`). */
  async function firstLogs(terminal: boolean, dataDir: string): Promise<string> {
    const command = `${JSON.stringify(process.execPath)} --import tsx services/sync-runtime/src/main.ts`;
    const [file, args] = terminal
      ? ['script', ['-qfec', command, '/dev/null']]
      : [process.execPath, ['--import', 'tsx', 'services/sync-runtime/src/main.ts']];
    const child = spawn(file, args as string[], {
      cwd: ROOT,
      detached: true,
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        TERM: 'dumb',
        DATA_SYNC_DATA_DIR: dataDir,
        PORT: '0',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (c) => (output += c));
    child.stderr!.on('data', (c) => (output += c));
    try {
      const until = Date.now() + 90_000;
      while (!output.includes('worker and scheduler started')) {
        if (Date.now() > until || child.exitCode !== null) throw new Error(`the runtime did not start: ${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return output;
    } finally {
      process.kill(-child.pid!, 'SIGKILL');
    }
  }

  test('on a terminal: human-readable lines, no JSON', async () => {
    // Colored on a terminal: the escape codes are left out for the comparison.
    const output = (await firstLogs(true, path.join(dir, 'tty'))).replaceAll('\u001b', '').replace(/\[[0-9;]*m/g, '');
    expect(output).toMatch(/\[\d\d:\d\d:\d\d\.\d{3}\] INFO.*: worker and scheduler started/);
    expect(output).not.toContain('{"level"');
  }, 120_000);

  test('piped (a log collector): one JSON object per line', async () => {
    const output = await firstLogs(false, path.join(dir, 'pipe'));
    const line = output.split('\n').find((l) => l.includes('worker and scheduler started'))!;
    expect(JSON.parse(line)).toMatchObject({ level: 30, msg: 'worker and scheduler started' });
  }, 120_000);
});
