/**
 * The runtime's prom-client registry: exactly the metrics of monitoring/metrics.ts (named once, shared
 * with the alert rules and dashboards), plus prom-client's default process metrics.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { METRICS, MetricKey } from '@data-sync/monitoring/metrics';
import type { QueueBinding } from './queue/binding';

type Def<K extends MetricKey> = (typeof METRICS)[K];
type Instrument<K extends MetricKey> = Def<K>['type'] extends 'counter'
  ? Counter<string>
  : Def<K>['type'] extends 'gauge'
    ? Gauge<string>
    : Histogram<string>;
export type RuntimeInstruments = { [K in MetricKey]: Instrument<K> };

export interface RuntimeMetrics {
  readonly registry: Registry;
  readonly m: RuntimeInstruments;
  /** Sets the queue-depth gauges from the binding (called before each scrape). */
  refreshQueue(queue: QueueBinding): Promise<void>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): RuntimeMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const m = {} as Record<MetricKey, Counter<string> | Gauge<string> | Histogram<string>>;
  for (const key of Object.keys(METRICS) as MetricKey[]) {
    const def = METRICS[key];
    const base = { name: def.name, help: def.help, labelNames: [...def.labels], registers: [registry] };
    m[key] =
      def.type === 'counter'
        ? new Counter(base)
        : def.type === 'gauge'
          ? new Gauge(base)
          : new Histogram({ ...base, buckets: [...((def as { buckets?: readonly number[] }).buckets ?? [])] });
  }
  const instruments = m as RuntimeInstruments;
  return {
    registry,
    m: instruments,
    async refreshQueue(queue) {
      const depth = await queue.depth();
      instruments.queueDepth.set({ state: 'ready' }, depth.ready);
      instruments.queueDepth.set({ state: 'in_flight' }, depth.inFlight);
      instruments.queueDepth.set({ state: 'delayed' }, depth.delayed);
      instruments.deadLetterDepth.set(depth.dead);
    },
  };
}
