/**
 * Google's Pub/Sub emulator for the tests that need one. It is not a service CI starts: where its binary
 * is absent, `describeWithPubsubEmulator` skips its suite with a printed reason.
 */
import { type ChildProcess, spawn } from 'child_process';
import { existsSync } from 'fs';
import * as net from 'net';

export const PUBSUB_EMULATOR = '/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator';

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });

/** `describe` when the emulator is installed, else a visibly skipped suite. */
export function describeWithPubsubEmulator(name: string, suite: () => void): void {
  if (existsSync(PUBSUB_EMULATOR)) return describe(name, suite);
  console.warn(`skipping ${name}: ${PUBSUB_EMULATOR} is not installed (gcloud's pubsub-emulator component)`);
  describe.skip(name, suite);
}

/**
 * Starts the emulator on a free loopback port and points the client libraries at it (PUBSUB_EMULATOR_HOST,
 * no metadata server); resolves with its `host:port` once it serves.
 */
export async function startPubsubEmulator(): Promise<{ readonly apiEndpoint: string; stop(): void }> {
  const port = await freePort();
  const apiEndpoint = `127.0.0.1:${port}`;
  process.env.METADATA_SERVER_DETECTION = 'none';
  process.env.PUBSUB_EMULATOR_HOST = apiEndpoint;
  // Its own process group, so that the JVM it execs is stopped with it.
  const emulator: ChildProcess = spawn(PUBSUB_EMULATOR, ['--host=127.0.0.1', `--port=${port}`], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let log = '';
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('Server started')) resolve();
    };
    emulator.stdout!.on('data', onData);
    emulator.stderr!.on('data', onData);
    emulator.once('exit', (code) => reject(new Error(`Pub/Sub emulator exited with ${code}: ${log}`)));
  });
  return {
    apiEndpoint,
    stop: () => {
      if (emulator.pid) process.kill(-emulator.pid, 'SIGTERM');
    },
  };
}
