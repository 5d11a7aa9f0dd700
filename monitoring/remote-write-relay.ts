/**
 * A metrics relay in remote-write mode: it scrapes a process's /metrics every interval and sends the
 * catalog's series to a Prometheus remote-write endpoint, for a process that cannot push its own (n8n's
 * main on IBM Code Engine, where nothing scrapes an app). Built on fetch and snappyjs only: the IBM stack
 * bundles this file into a config map its relay job mounts (constructs/monitoring/ibm.ts).
 */
import { parsePrometheusText } from './prometheus-text';
import { everyInterval, scrapeMetrics } from './relay-cadence';
import { type RemoteWriteTarget, remoteWrite, toTimeSeries } from './remote-write';

/** The relay's variables, by setting. */
export const REMOTE_WRITE_RELAY_ENV = {
  scrapeUrl: 'DATA_SYNC_METRICS_SCRAPE_URL',
  url: 'DATA_SYNC_METRICS_REMOTE_WRITE_URL',
  token: 'DATA_SYNC_METRICS_REMOTE_WRITE_TOKEN',
  instance: 'DATA_SYNC_METRICS_INSTANCE',
  series: 'DATA_SYNC_METRICS_SERIES',
  intervalSeconds: 'DATA_SYNC_METRICS_INTERVAL_SECONDS',
} as const;

export interface RemoteWriteRelayConfig {
  /** The /metrics page to scrape. */
  readonly scrapeUrl: string;
  readonly target: RemoteWriteTarget;
  /** The `instance` label of every series sent. */
  readonly instance: string;
  /** Series names to send; every other series is left out. */
  readonly series: ReadonlySet<string>;
  readonly intervalSeconds: number;
}

/** The relay's settings from `env`; throws naming the variable that is missing or wrong. */
export function remoteWriteRelayConfig(env: NodeJS.ProcessEnv): RemoteWriteRelayConfig {
  const read = (key: keyof typeof REMOTE_WRITE_RELAY_ENV) => {
    const value = env[REMOTE_WRITE_RELAY_ENV[key]]?.trim();
    if (!value) throw new Error(`${REMOTE_WRITE_RELAY_ENV[key]} is not set`);
    return value;
  };
  const url = read('url');
  // The bearer token would cross the network in the clear.
  if (!url.startsWith('https://')) throw new Error(`${REMOTE_WRITE_RELAY_ENV.url} must be an https:// URL`);
  const intervalSeconds = Number(read('intervalSeconds'));
  if (!(intervalSeconds >= 10))
    throw new Error(`${REMOTE_WRITE_RELAY_ENV.intervalSeconds} must be a number of seconds, 10 or more`);
  return {
    scrapeUrl: read('scrapeUrl'),
    target: { url, token: read('token') },
    instance: read('instance'),
    series: new Set(read('series').split(',')),
    intervalSeconds,
  };
}

/** Scrapes once and sends what it read; resolves with the series count, throws when either side fails. */
export async function remoteWriteRelayOnce(config: RemoteWriteRelayConfig, now = Date.now()): Promise<number> {
  const series = toTimeSeries(parsePrometheusText(await scrapeMetrics(config.scrapeUrl)), {
    series: config.series,
    labels: { instance: config.instance },
    timestampMs: now,
  });
  await remoteWrite(config.target, series);
  return series.length;
}

/** Relays every interval until the process is stopped; one JSON line on stderr when a failure streak starts and ends. */
export function runRemoteWriteRelay(env: NodeJS.ProcessEnv = process.env): void {
  const config = remoteWriteRelayConfig(env);
  const log = (line: object) => process.stderr.write(`${JSON.stringify(line)}\n`);
  let failing = false;
  everyInterval(config.intervalSeconds, async () => {
    try {
      await remoteWriteRelayOnce(config);
      if (failing) log({ msg: 'metrics relay works again' });
      failing = false;
    } catch (error) {
      if (!failing) log({ msg: 'metrics relay failed', err: (error as Error).message });
      failing = true;
    }
  });
}
