import { catalogMetricFor, metricNamesIn } from './promql';
import { METRICS } from './metrics';

describe('metricNamesIn', () => {
  test('lists selected metrics, not functions, aggregations, keywords or label names', () => {
    expect(
      metricNamesIn(
        'sum by (integration, le) (rate(foo_bucket{status="failed", code=~"5.."}[5m])) / on (integration) group_left (team) bar > bool 0.1 and baz unless absent(qux)',
      ),
    ).toEqual(['foo_bucket', 'bar', 'baz', 'qux']);
  });

  test('ignores time(), numbers with exponents, durations after offset and @ timestamps', () => {
    expect(metricNamesIn('(time() - last_ts offset 1h) > 2e3 * interval @ 1609746000')).toEqual([
      'last_ts',
      'interval',
    ]);
  });

  test('does not read metric-like words inside strings or label lists', () => {
    expect(
      metricNamesIn(
        'count without (instance) (up{job="not_a_metric total"}) + label_replace(x, "dst", "$1", "src", "(.*)")',
      ),
    ).toEqual(['up', 'x']);
  });

  test('lists a name once however often it appears', () => {
    expect(metricNamesIn('a / a + rate(a[1m])')).toEqual(['a']);
  });
});

describe('catalogMetricFor', () => {
  test('maps histogram series to their histogram and rejects the suffixes on other types', () => {
    expect(catalogMetricFor(`${METRICS.syncDuration.name}_bucket`)).toBe(METRICS.syncDuration);
    expect(catalogMetricFor(`${METRICS.syncDuration.name}_count`)).toBe(METRICS.syncDuration);
    expect(catalogMetricFor(METRICS.syncRuns.name)).toBe(METRICS.syncRuns);
    expect(catalogMetricFor(`${METRICS.queueDepth.name}_sum`)).toBeUndefined();
    expect(catalogMetricFor('data_sync_not_defined')).toBeUndefined();
  });
});
