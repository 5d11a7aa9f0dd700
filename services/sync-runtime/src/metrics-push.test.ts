import { METRICS } from '@data-sync/monitoring/metrics';
import { startFakeRemoteWrite } from '@data-sync/test-services/remote-write-receiver';
import { createMetrics } from './metrics';
import { startMetricsPush } from './metrics-push';

const HOUR = 3_600_000;
const logger = () => ({ warn: jest.fn(), info: jest.fn() });

test('pushes the catalog series with the instance label at start, histograms with their buckets, nothing else', async () => {
  const receiver = await startFakeRemoteWrite('token');
  const metrics = createMetrics();
  metrics.m.up.set({ role: 'worker' }, 1);
  metrics.m.syncDuration.observe({ integration: 'salesforce' }, 3.5);
  const refresh = jest.fn(async () => metrics.m.deadLetterDepth.set(2));
  const push = startMetricsPush({
    target: { url: receiver.url, token: 'token' },
    registry: metrics.registry,
    instance: 'pod-1',
    refresh,
    logger: logger(),
    intervalMs: HOUR,
  });
  try {
    const up = await receiver.arrived((s) => s.labels.__name__ === METRICS.up.name);
    expect(up.labels).toEqual({ __name__: METRICS.up.name, role: 'worker', instance: 'pod-1' });
    expect(up.samples).toEqual([{ value: 1, timestamp: expect.any(Number) }]);
    expect(Math.abs(up.samples[0].timestamp - Date.now())).toBeLessThan(60_000);
    const names = new Set(receiver.series.map((s) => s.labels.__name__));
    expect(names).toContain(`${METRICS.syncDuration.name}_bucket`);
    expect(names).toContain(`${METRICS.syncDuration.name}_sum`);
    // Refreshed before the push: the dead-letter gauge the DeadLetters alert reads.
    expect(receiver.series.find((s) => s.labels.__name__ === METRICS.deadLetterDepth.name)?.samples[0].value).toBe(2);
    // prom-client's process metrics are not the catalog's.
    expect([...names].filter((n) => !n.startsWith('data_sync_'))).toEqual([]);
    expect(receiver.series.every((s) => s.labels.instance === 'pod-1')).toBe(true);
  } finally {
    await push.stop();
    await receiver.close();
  }
});

test('a refusing endpoint is logged once per streak, never thrown, and its recovery once', async () => {
  const refusing = await startFakeRemoteWrite('token', { status: 503 });
  const log = logger();
  const metrics = createMetrics({ defaultMetrics: false });
  let url = refusing.url;
  const target = {
    get url() {
      return url;
    },
    token: 'token',
  };
  const push = startMetricsPush({ target, registry: metrics.registry, instance: 'i', logger: log, intervalMs: HOUR });
  const working = await startFakeRemoteWrite('token');
  try {
    expect(await push.push()).toBe(false);
    expect(await push.push()).toBe(false);
    expect(log.warn).toHaveBeenCalledTimes(1);
    expect(log.warn.mock.calls[0][0].problems).toEqual(['remote write answered 503: refused by the test']);
    url = working.url;
    expect(await push.push()).toBe(true);
    expect(await push.push()).toBe(true);
    expect(log.info).toHaveBeenCalledTimes(1);
    expect(log.warn).toHaveBeenCalledTimes(1);
  } finally {
    await push.stop();
    await refusing.close();
    await working.close();
  }
});

test('stop ends the schedule', async () => {
  const receiver = await startFakeRemoteWrite('token');
  const metrics = createMetrics({ defaultMetrics: false });
  metrics.m.n8nUp.set(1);
  const push = startMetricsPush({
    target: { url: receiver.url, token: 'token' },
    registry: metrics.registry,
    instance: 'i',
    logger: logger(),
    intervalMs: 50,
  });
  try {
    await receiver.arrived(() => true);
    await push.stop();
    const count = receiver.series.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(receiver.series.length).toBe(count);
  } finally {
    await receiver.close();
  }
});
