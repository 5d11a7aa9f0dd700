/**
 * Prometheus remote write 1.0: where no agent scrapes a process (IBM Code Engine runs one container and
 * forwards only platform metrics), the process sends its own samples to a remote-write endpoint such as
 * IBM Cloud Monitoring's (`https://<ingestion endpoint>/prometheus/remote/write`, a Monitor API token as
 * bearer). The WriteRequest is encoded here by hand, four small messages of prometheus/prompb:
 *
 *   WriteRequest { repeated TimeSeries timeseries = 1; }
 *   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
 *   Label        { string name = 1; string value = 2; }
 *   Sample       { double value = 1; int64 timestamp = 2; }   // timestamp: ms since the epoch
 *
 * then Snappy block-compressed (snappyjs, pure JavaScript), as the protocol requires.
 */
import { compress } from 'snappyjs';
import type { PrometheusSample } from './prometheus-text';

/** One series with one sample: its labels (`__name__` among them) and value at `timestampMs`. */
export interface TimeSeries {
  readonly labels: readonly { readonly name: string; readonly value: string }[];
  readonly value: number;
  readonly timestampMs: number;
}

/** The headers remote write 1.0 requires (besides Authorization). */
export const REMOTE_WRITE_HEADERS = {
  'content-type': 'application/x-protobuf',
  'content-encoding': 'snappy',
  'x-prometheus-remote-write-version': '0.1.0',
} as const;

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * The samples of `series` as time series at `timestampMs`, each with `labels` added (they win over a
 * sample's own). Labels sorted by name with `__name__` first, as the protocol asks; empty values are absent
 * labels, as in Prometheus.
 */
export function toTimeSeries(
  samples: readonly PrometheusSample[],
  options: { series: ReadonlySet<string>; labels: Readonly<Record<string, string>>; timestampMs: number },
): TimeSeries[] {
  return samples
    .filter((s) => options.series.has(s.name))
    .map((s) => {
      const merged = { ...s.labels, ...options.labels };
      const names = Object.keys(merged)
        .filter((name) => merged[name] !== '')
        .sort();
      for (const name of names) if (!LABEL_NAME.test(name)) throw new Error(`${s.name}: label name ${name} is invalid`);
      return {
        labels: [{ name: '__name__', value: s.name }, ...names.map((name) => ({ name, value: merged[name] }))],
        value: s.value,
        timestampMs: options.timestampMs,
      };
    });
}

/** Protobuf wire types: varint (0), 64-bit (1), length-delimited (2). */
const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;

/** A varint of a non-negative safe integer (timestamps pass 2^32, so no 32-bit bit operations). */
function varint(n: number): number[] {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`cannot encode ${n} as a varint`);
  const bytes: number[] = [];
  while (n >= 0x80) {
    bytes.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  bytes.push(n);
  return bytes;
}

const key = (field: number, wireType: number) => varint((field << 3) | wireType);

const lengthDelimited = (field: number, body: Uint8Array): Buffer =>
  Buffer.concat([Buffer.from([...key(field, LENGTH_DELIMITED), ...varint(body.length)]), body]);

function encodeSample(value: number, timestampMs: number): Buffer {
  const double = Buffer.alloc(8);
  double.writeDoubleLE(value);
  return Buffer.concat([
    Buffer.from(key(1, FIXED64)),
    double,
    Buffer.from([...key(2, VARINT), ...varint(timestampMs)]),
  ]);
}

/** A WriteRequest of `series`, protobuf-encoded (not yet compressed). */
export function encodeWriteRequest(series: readonly TimeSeries[]): Buffer {
  return Buffer.concat(
    series.map((s) =>
      lengthDelimited(
        1,
        Buffer.concat([
          ...s.labels.map((l) =>
            lengthDelimited(
              1,
              Buffer.concat([lengthDelimited(1, Buffer.from(l.name)), lengthDelimited(2, Buffer.from(l.value))]),
            ),
          ),
          lengthDelimited(2, encodeSample(s.value, s.timestampMs)),
        ]),
      ),
    ),
  );
}

/** Where a remote write goes: the endpoint and its bearer token. */
export interface RemoteWriteTarget {
  readonly url: string;
  readonly token: string;
}

/** Sends `series` in one request; throws with the endpoint's status and the start of its answer when it refuses. */
export async function remoteWrite(target: RemoteWriteTarget, series: readonly TimeSeries[]): Promise<void> {
  const response = await fetch(target.url, {
    method: 'POST',
    headers: { ...REMOTE_WRITE_HEADERS, authorization: `Bearer ${target.token}` },
    // A copy on its own ArrayBuffer: fetch's BodyInit takes no Buffer view of a shared pool.
    body: new Uint8Array(compress(encodeWriteRequest(series))),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) {
    const answer = (await response.text().catch(() => '')).slice(0, 200);
    throw new Error(`remote write answered ${response.status}${answer ? `: ${answer}` : ''}`);
  }
}
