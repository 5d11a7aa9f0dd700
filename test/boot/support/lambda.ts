/**
 * The Lambda runtime, as far as the worker needs it: the deployment package's handler loaded in a
 * Node process of its own with the function's environment, and an SQS event source mapping that
 * receives batches, invokes the handler and deletes what it did not report as failed.
 */
import { type ChildProcess, fork } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

const HOST = `
const [file, name] = process.argv.slice(2);
const loaded = require(file);
const handler = loaded[name];
if (typeof handler !== 'function') throw new Error(file + ' exports no ' + name);
process.on('message', ({ id, event }) => {
  handler(event).then(
    (result) => process.send({ id, result }),
    (error) => process.send({ id, error: String(error && error.stack || error) }),
  );
});
process.send({ ready: true, codeCache: loaded.codeCache });
`;

export interface LambdaHost {
  invoke(event: unknown): Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;
  stop(): void;
}

/** The files of a zip (stored or deflated), from its local headers. */
export function unzip(zip: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (let at = 0; zip.readUInt32LE(at) === 0x04034b50;) {
    const method = zip.readUInt16LE(at + 8);
    const size = zip.readUInt32LE(at + 18);
    const nameLength = zip.readUInt16LE(at + 26);
    const start = at + 30 + nameLength + zip.readUInt16LE(at + 28);
    const data = zip.subarray(start, start + size);
    files.set(zip.subarray(at + 30, at + 30 + nameLength).toString(), method === 8 ? zlib.inflateRawSync(data) : data);
    at = start + size;
  }
  return files;
}

/**
 * Unpacks the deployment package `zipFile` and loads `<file>.js` and its `handler` export (`lambda-handler.handler`)
 * in a child with `env`, started with `nodeArgs` as Lambda's bootstrap starts Node (config lambdaNodeArgs).
 */
export async function startLambda(zipFile: string, handler: string, env: Record<string, string>, nodeArgs: string[]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boot-lambda-'));
  for (const [name, content] of unzip(fs.readFileSync(zipFile))) fs.writeFileSync(path.join(dir, name), content);
  const [module, name] = handler.split('.');
  const host = path.join(dir, 'host.js');
  fs.writeFileSync(host, HOST);
  const child: ChildProcess = fork(host, [path.join(dir, `${module}.js`), name], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    execArgv: nodeArgs,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  const codeCache = await new Promise<string>((resolve, reject) => {
    child.once('message', (m: { codeCache: string }) => resolve(m.codeCache));
    child.once('exit', (code) => reject(new Error(`the Lambda host exited with ${code}:\n${output}`)));
  });
  let next = 0;
  const pending = new Map<number, { resolve: (r: any) => void; reject: (e: Error) => void }>();
  child.on('message', (m: { id: number; result?: unknown; error?: string }) => {
    const waiter = pending.get(m.id);
    pending.delete(m.id);
    if (m.error) waiter?.reject(new Error(m.error));
    else waiter?.resolve(m.result);
  });
  return {
    output: () => output,
    /** Whether the bundle was compiled from its code cache ('used', 'rejected' or 'none'). */
    codeCache,
    invoke(event: unknown) {
      const id = next++;
      return new Promise<{ batchItemFailures: { itemIdentifier: string }[] }>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.send({ id, event });
      });
    },
    stop: () => child.kill(),
  };
}

/** The event source mapping: polls `queueUrl` and invokes the Lambda until `stop()`. */
export function pollQueue(sqs: SQSClient, queueUrl: string, lambda: Pick<LambdaHost, 'invoke'>) {
  let running = true;
  const loop = (async () => {
    while (running) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          AttributeNames: ['All'],
        }),
      );
      if (!Messages.length) continue;
      const { batchItemFailures } = await lambda.invoke({
        Records: Messages.map((m) => ({
          messageId: m.MessageId,
          body: m.Body,
          attributes: {
            ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount,
            SentTimestamp: m.Attributes?.SentTimestamp,
          },
        })),
      });
      const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
      for (const m of Messages.filter((m) => !failed.has(m.MessageId!)))
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
    },
  };
}
