/**
 * A Prometheus remote-write endpoint stand-in (IBM Cloud Monitoring's ingestion): it checks the bearer
 * token and the 1.0 headers, Snappy-decompresses the body and reads the WriteRequest with its own minimal
 * protobuf reader (written from prompb's field numbers, independently of monitoring/remote-write.ts).
 */
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { uncompress } from 'snappyjs';
import { certificate } from './servicebus-fake';

/** A decoded time series: labels by name, and its samples. */
export interface ReceivedSeries {
  readonly labels: Record<string, string>;
  readonly samples: { value: number; timestamp: number }[];
}

/** The fields of one protobuf message: field number -> raw values (varints as numbers, fixed64 and bytes as Buffers). */
function readMessage(buf: Buffer): Map<number, (number | Buffer)[]> {
  const fields = new Map<number, (number | Buffer)[]>();
  let i = 0;
  const readVarint = () => {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (i >= buf.length) throw new Error('truncated varint');
      const byte = buf[i++];
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 0x80;
    }
  };
  while (i < buf.length) {
    const key = readVarint();
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    let value: number | Buffer;
    if (wireType === 0) value = readVarint();
    else if (wireType === 1) {
      value = buf.subarray(i, i + 8);
      i += 8;
    } else if (wireType === 2) {
      const length = readVarint();
      value = buf.subarray(i, i + length);
      i += length;
    } else throw new Error(`unexpected wire type ${wireType}`);
    if (i > buf.length) throw new Error('truncated field');
    fields.set(field, [...(fields.get(field) ?? []), value]);
  }
  return fields;
}

/** The time series of a protobuf WriteRequest (not compressed). */
export function decodeWriteRequest(body: Buffer): ReceivedSeries[] {
  return ((readMessage(body).get(1) ?? []) as Buffer[]).map((ts) => {
    const series = readMessage(ts);
    const labels: Record<string, string> = {};
    for (const label of (series.get(1) ?? []) as Buffer[]) {
      const l = readMessage(label);
      labels[String((l.get(1)?.[0] as Buffer | undefined) ?? '')] = String((l.get(2)?.[0] as Buffer | undefined) ?? '');
    }
    const samples = ((series.get(2) ?? []) as Buffer[]).map((s) => {
      const sample = readMessage(s);
      return { value: (sample.get(1)![0] as Buffer).readDoubleLE(0), timestamp: sample.get(2)![0] as number };
    });
    return { labels, samples };
  });
}

/** The label names of a received series in the order they were sent. */
export function labelOrder(body: Buffer): string[][] {
  return ((readMessage(body).get(1) ?? []) as Buffer[]).map((ts) =>
    ((readMessage(ts).get(1) ?? []) as Buffer[]).map((label) => String(readMessage(label).get(1)![0])),
  );
}

export interface FakeRemoteWrite {
  /** The endpoint's URL (`/prometheus/remote/write`, as IBM's). */
  readonly url: string;
  /** With `tls`, the self-signed certificate's file, for a child process's NODE_EXTRA_CA_CERTS. */
  readonly caFile?: string;
  /** Accepted requests' series, in arrival order. */
  readonly series: ReceivedSeries[];
  /** Why requests were refused. */
  readonly refused: string[];
  /** Resolves once a series matching `match` has arrived; rejects after `timeoutMs` (default 20 s) naming what did. */
  arrived(match: (s: ReceivedSeries) => boolean, timeoutMs?: number): Promise<ReceivedSeries>;
  close(): Promise<void>;
}

export const REMOTE_WRITE_PATH = '/prometheus/remote/write';

/**
 * Starts the stand-in, accepting `token` as bearer; with `status`, it answers every request with it; with
 * `tls`, over HTTPS with a self-signed certificate for 127.0.0.1 (the runtime sends only to https:// URLs).
 */
export async function startFakeRemoteWrite(
  token: string,
  options: { status?: number; tls?: boolean } = {},
): Promise<FakeRemoteWrite> {
  const series: ReceivedSeries[] = [];
  const refused: string[] = [];
  const waiters: (() => void)[] = [];
  const dir = options.tls ? fs.mkdtempSync(path.join(os.tmpdir(), 'remote-write-')) : undefined;
  const tls = dir ? certificate(dir) : undefined;
  const handle: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const h = req.headers;
      const problem =
        req.method !== 'POST' || req.url !== REMOTE_WRITE_PATH
          ? `${req.method} ${req.url}`
          : h.authorization !== `Bearer ${token}`
            ? 'bearer token is not the trusted one'
            : h['content-encoding'] !== 'snappy' ||
                h['content-type'] !== 'application/x-protobuf' ||
                h['x-prometheus-remote-write-version'] !== '0.1.0'
              ? `headers ${h['content-encoding']} ${h['content-type']} ${h['x-prometheus-remote-write-version']}`
              : null;
      if (problem) {
        refused.push(problem);
        return void res.writeHead(401).end(problem);
      }
      if (options.status) return void res.writeHead(options.status).end('refused by the test');
      try {
        series.push(...decodeWriteRequest(Buffer.from(uncompress(Buffer.concat(chunks)))));
      } catch (error) {
        refused.push(`undecodable: ${(error as Error).message}`);
        return void res.writeHead(400).end();
      }
      res.writeHead(204).end();
      for (const wake of waiters.splice(0)) wake();
    });
  };
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, handle) : http.createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}${REMOTE_WRITE_PATH}`,
    ...(tls ? { caFile: tls.certFile } : {}),
    series,
    refused,
    async arrived(match, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = series.find(match);
        if (found) return found;
        const left = deadline - Date.now();
        if (left <= 0)
          throw new Error(
            `no matching series arrived in ${timeoutMs} ms; arrived: ${[...new Set(series.map((s) => s.labels.__name__))].join(', ') || 'none'}; refused: ${refused.join('; ') || 'none'}`,
          );
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          if (dir) fs.rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        // fetch keeps its connections alive; close would wait for them.
        server.closeAllConnections();
      }),
  };
}
