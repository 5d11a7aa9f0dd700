/**
 * fauxqs, a local SQS, for the tests that need one: it is ESM-only and jest runs CommonJS here, so it
 * runs in a child process, listening on loopback only.
 */
import { spawn } from 'child_process';

const FAUXQS = `
import('fauxqs').then(async ({ buildApp }) => {
  const app = buildApp({ logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(String(app.server.address().port) + '\\n');
});`;

/** Starts fauxqs; resolves with its endpoint once it listens. */
export async function startFauxqs(): Promise<{ readonly endpoint: string; stop(): void }> {
  const child = spawn(process.execPath, ['-e', FAUXQS], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
    child.once('exit', (code) => reject(new Error(`fauxqs exited with ${code}`)));
  });
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}
