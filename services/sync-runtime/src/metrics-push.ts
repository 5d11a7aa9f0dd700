/**
 * Sends the catalog's series of the process's registry to a Prometheus remote-write endpoint on a
 * schedule, for platforms where nothing scrapes /metrics (IBM Code Engine: one container, platform
 * metrics only). Counters go cumulative, as a scrape reads them; PromQL's rate() works on them as is.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { METRIC_LIST, catalogSeries } from '@data-sync/monitoring/metrics';
import { parsePrometheusText } from '@data-sync/monitoring/prometheus-text';
import { type RemoteWriteTarget, remoteWrite, toTimeSeries } from '@data-sync/monitoring/remote-write';

/** Between pushes: two points in each minute the alerts evaluate, as the other clouds' agents scrape. */
export const METRICS_PUSH_INTERVAL_MS = 30_000;

export interface MetricsPushOptions {
  /** The endpoint and its bearer token. */
  readonly target: RemoteWriteTarget;
  /** The registry whose catalog series are sent. */
  readonly registry: Pick<Registry, 'metrics'>;
  /** The `instance` label of every series: one value per process, so two instances' counters never mix. */
  readonly instance: string;
  /** Brings gauges read on demand up to date before each push (the queue depths). @default none */
  readonly refresh?: () => Promise<void>;
  readonly logger: Pick<Logger, 'warn' | 'info'>;
  /** Time between two pushes. @default METRICS_PUSH_INTERVAL_MS */
  readonly intervalMs?: number;
}

export interface MetricsPush {
  /** Pushes now (or joins the push in flight); resolves true when the endpoint took it. */
  push(): Promise<boolean>;
  /** Stops the timer and waits for a push in flight. */
  stop(): Promise<void>;
}

const SERIES = catalogSeries(METRIC_LIST);

/** Pushes at once, then every `intervalMs`; failures never throw, and are logged once per streak. */
export function startMetricsPush(options: MetricsPushOptions): MetricsPush {
  let failing = false;
  let inFlight: Promise<boolean> | null = null;
  const once = async (): Promise<boolean> => {
    const problems: string[] = [];
    // Stale queue depths still beat no push at all: data_sync_up must keep arriving while the store is down.
    await options.refresh?.().catch((error: Error) => problems.push(`refreshing gauges: ${error.message}`));
    try {
      const series = toTimeSeries(parsePrometheusText(await options.registry.metrics()), {
        series: SERIES,
        labels: { instance: options.instance },
        timestampMs: Date.now(),
      });
      await remoteWrite(options.target, series);
    } catch (error) {
      problems.push((error as Error).message);
    }
    if (problems.length && !failing)
      options.logger.warn({ problems, url: options.target.url }, 'metrics remote write failed');
    else if (!problems.length && failing)
      options.logger.info({ url: options.target.url }, 'metrics remote write works again');
    failing = problems.length > 0;
    return !failing;
  };
  const push = () => (inFlight ??= once().finally(() => (inFlight = null)));
  const timer = setInterval(() => void push(), options.intervalMs ?? METRICS_PUSH_INTERVAL_MS);
  timer.unref();
  void push();
  return {
    push,
    async stop() {
      clearInterval(timer);
      await inFlight;
    },
  };
}
