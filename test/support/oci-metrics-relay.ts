/**
 * An OCI container instance's metrics relay, run here as the stack mounts it (the script of its
 * CONFIGFILE volume, its command and environment), against a PostMetricData stand-in that checks each
 * call's signature with the runtime's own signing string, as OCI checks the resource principal's.
 */
import { type ChildProcess, spawn } from 'child_process';
import { createHash, createVerify, type KeyObject } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { type OciMetricData, RELAY_ENV } from '@data-sync/monitoring/oci-metrics-relay';
import { ociSigningString } from '@data-sync/monitoring/oci-signing';
import type { Block } from './terraform-checks';

const containersOf = (instance: Block) => instance.containers as Block[];

/** The instance's relay sidecar, if it has one. */
export const relayOf = (instance: Block): Block | undefined =>
  containersOf(instance).find((c) => c.display_name === 'metrics');

/** The relay's script as mounted: the path its command runs, and the CONFIGFILE content, decoded. */
export function relayScriptOf(instance: Block): { file: string; source: string } {
  const relay = relayOf(instance);
  if (!relay) throw new Error(`${String(instance.display_name)} runs no metrics relay`);
  const [mount] = relay.volume_mounts as Block[];
  const volume = (instance.volumes as Block[]).find((v) => v.name === mount.volume_name);
  if (volume?.volume_type !== 'CONFIGFILE') throw new Error(`${String(mount.volume_name)} is not a CONFIGFILE volume`);
  const [config] = volume.configs as Block[];
  return {
    file: `${String(mount.mount_path)}/${String(config.file_name)}`,
    source: Buffer.from(String(config.data), 'base64').toString('utf8'),
  };
}

/** A PostMetricData stand-in trusting one resource principal (`ST$<token>` and its key). */
export interface FakeTelemetryIngestion {
  readonly url: string;
  /** Accepted calls: path and parsed body. */
  readonly calls: { path: string; body: { metricData: OciMetricData[]; batchAtomicity?: string } }[];
  /** Why calls were refused. */
  readonly refused: string[];
  /** Resolves once calls came and none followed for 300 ms (one scrape's batches). */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export async function startFakeTelemetryIngestion(trusted: {
  token: string;
  publicKey: KeyObject;
}): Promise<FakeTelemetryIngestion> {
  const calls: FakeTelemetryIngestion['calls'] = [];
  const refused: string[] = [];
  let notify = () => {};
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const fields = Object.fromEntries(
        [...String(req.headers.authorization).matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => [k, v]),
      );
      const values: Record<string, string> = {
        ...Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
        '(request-target)': `${req.method!.toLowerCase()} ${req.url}`,
      };
      const problem =
        req.method !== 'POST' || req.url !== '/20180401/metrics'
          ? `${req.method} ${req.url}`
          : fields.keyId !== `ST$${trusted.token}`
            ? 'keyId is not the trusted session token'
            : req.headers['x-content-sha256'] !== createHash('sha256').update(body).digest('base64')
              ? 'x-content-sha256 does not match the body'
              : !createVerify('RSA-SHA256')
                    .update(ociSigningString(String(fields.headers).split(' '), values))
                    .verify(trusted.publicKey, String(fields.signature), 'base64')
                ? 'signature does not verify'
                : null;
      if (problem) {
        refused.push(problem);
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ message: problem }));
        return;
      }
      calls.push({ path: req.url!, body: JSON.parse(body) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"failedMetricsCount":0,"failedMetrics":[]}');
      notify();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    refused,
    settled: () =>
      new Promise<void>((resolve) => {
        let timer: NodeJS.Timeout | undefined;
        notify = () => {
          clearTimeout(timer);
          timer = setTimeout(resolve, 300);
        };
        if (calls.length) notify();
      }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface RunningRelay {
  /** What the relay wrote to stderr (it logs only rounds that did not go cleanly). */
  output(): string;
  stop(): void;
}

/**
 * Starts `instance`'s relay with its own environment, the app and the endpoint replaced by local ones
 * (`scrapeOrigin` stands for the instance's localhost port), and `principal` as OCI gives it.
 */
export function startRelay(
  instance: Block,
  local: { scrapeOrigin: string; ingestionUrl: string; principal: Readonly<Record<string, string>> },
): RunningRelay {
  const env = relayOf(instance)!.environment_variables as Record<string, string>;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oci-relay-'));
  const file = path.join(dir, path.basename(relayScriptOf(instance).file));
  fs.writeFileSync(file, relayScriptOf(instance).source);
  let output = '';
  const child: ChildProcess = spawn(process.execPath, [file], {
    env: {
      PATH: process.env.PATH,
      ...env,
      [RELAY_ENV.scrapeUrl]: env[RELAY_ENV.scrapeUrl].replace(/^http:\/\/localhost:\d+/, local.scrapeOrigin),
      [RELAY_ENV.ingestionEndpoint]: local.ingestionUrl,
      ...local.principal,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  return {
    output: () => output,
    stop() {
      child.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
