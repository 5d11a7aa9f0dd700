import { decodeWriteRequest, labelOrder, startFakeRemoteWrite } from '@data-sync/test-services/remote-write-receiver';
import { METRICS, catalogSeries } from '@data-sync/monitoring/metrics';
import { parsePrometheusText } from '@data-sync/monitoring/prometheus-text';
import { encodeWriteRequest, remoteWrite, toTimeSeries } from '@data-sync/monitoring/remote-write';
import {
  REMOTE_WRITE_RELAY_ENV,
  remoteWriteRelayConfig,
  remoteWriteRelayOnce,
} from '@data-sync/monitoring/remote-write-relay';

describe('the WriteRequest encoding', () => {
  test('matches a hand-encoded request byte for byte', () => {
    const body = encodeWriteRequest([{ labels: [{ name: '__name__', value: 'up' }], value: 1, timestampMs: 1000 }]);
    // WriteRequest.timeseries (1, length 30) > TimeSeries.labels (1, length 14) > Label.name (1) "__name__",
    // Label.value (2) "up"; TimeSeries.samples (2, length 12) > Sample.value (1, fixed64) 1.0, Sample.timestamp (2) 1000.
    const expected = [
      '0a1e',
      '0a0e',
      '0a08',
      Buffer.from('__name__').toString('hex'),
      '1202',
      Buffer.from('up').toString('hex'),
      '120c',
      '09',
      '000000000000f03f',
      '10e807',
    ].join('');
    expect(body.toString('hex')).toBe(expected);
  });

  test('millisecond timestamps past 2^32, UTF-8 values and special floats survive a decode', () => {
    const at = 1_764_871_200_123;
    const series = toTimeSeries(
      parsePrometheusText(
        ['a_total{zone="zürich",instance="scraped",empty=""} 4', 'b NaN', 'b{x="1"} +Inf', 'left_out 1'].join('\n'),
      ),
      { series: new Set(['a_total', 'b']), labels: { instance: 'host-1' }, timestampMs: at },
    );
    const decoded = decodeWriteRequest(encodeWriteRequest(series));
    expect(decoded).toEqual([
      {
        labels: { __name__: 'a_total', instance: 'host-1', zone: 'zürich' },
        samples: [{ value: 4, timestamp: at }],
      },
      { labels: { __name__: 'b', instance: 'host-1' }, samples: [{ value: NaN, timestamp: at }] },
      { labels: { __name__: 'b', instance: 'host-1', x: '1' }, samples: [{ value: Infinity, timestamp: at }] },
    ]);
    // Sorted by name, __name__ first; the given labels win over the sample's.
    expect(labelOrder(encodeWriteRequest(series))[0]).toEqual(['__name__', 'instance', 'zone']);
  });

  test("a histogram's buckets, sum and count are catalog series; other series are not", () => {
    const series = catalogSeries([METRICS.syncDuration, METRICS.up]);
    expect([...series].sort()).toEqual(
      [
        `${METRICS.syncDuration.name}_bucket`,
        `${METRICS.syncDuration.name}_count`,
        `${METRICS.syncDuration.name}_sum`,
        METRICS.up.name,
      ].sort(),
    );
  });

  test('a label name Prometheus refuses is named', () => {
    expect(() =>
      toTimeSeries([{ name: 'a', labels: { 'bad-name': 'x' }, value: 1 }], {
        series: new Set(['a']),
        labels: {},
        timestampMs: 0,
      }),
    ).toThrow('a: label name bad-name is invalid');
  });
});

describe('remoteWrite', () => {
  test('posts the Snappy-compressed request with the 1.0 headers and the bearer token', async () => {
    const receiver = await startFakeRemoteWrite('the-token');
    try {
      const series = [{ labels: [{ name: '__name__', value: 'up' }], value: 1, timestampMs: 5 }];
      await remoteWrite({ url: receiver.url, token: 'the-token' }, series);
      expect(receiver.refused).toEqual([]);
      expect(receiver.series).toEqual([{ labels: { __name__: 'up' }, samples: [{ value: 1, timestamp: 5 }] }]);
      await expect(remoteWrite({ url: receiver.url, token: 'wrong' }, series)).rejects.toThrow(
        'remote write answered 401: bearer token is not the trusted one',
      );
    } finally {
      await receiver.close();
    }
  });
});

describe('the remote-write relay', () => {
  const env = {
    [REMOTE_WRITE_RELAY_ENV.scrapeUrl]: 'http://127.0.0.1:9/metrics',
    [REMOTE_WRITE_RELAY_ENV.url]: 'https://ingest.prws.us-south.monitoring.cloud.ibm.com/prometheus/remote/write',
    [REMOTE_WRITE_RELAY_ENV.token]: 'token',
    [REMOTE_WRITE_RELAY_ENV.instance]: 'n8n',
    [REMOTE_WRITE_RELAY_ENV.series]: 'a,b',
    [REMOTE_WRITE_RELAY_ENV.intervalSeconds]: '30',
  };

  test('its settings name the variable that is missing or wrong', () => {
    expect(remoteWriteRelayConfig(env)).toMatchObject({
      instance: 'n8n',
      series: new Set(['a', 'b']),
      intervalSeconds: 30,
    });
    expect(() => remoteWriteRelayConfig({ ...env, [REMOTE_WRITE_RELAY_ENV.token]: '' })).toThrow(
      'DATA_SYNC_METRICS_REMOTE_WRITE_TOKEN is not set',
    );
    expect(() => remoteWriteRelayConfig({ ...env, [REMOTE_WRITE_RELAY_ENV.url]: 'http://x/write' })).toThrow(
      'DATA_SYNC_METRICS_REMOTE_WRITE_URL must be an https:// URL',
    );
    expect(() => remoteWriteRelayConfig({ ...env, [REMOTE_WRITE_RELAY_ENV.intervalSeconds]: '1' })).toThrow(
      'DATA_SYNC_METRICS_INTERVAL_SECONDS must be a number of seconds, 10 or more',
    );
  });

  test('a round throws when the scraped app does not answer', async () => {
    await expect(remoteWriteRelayOnce(remoteWriteRelayConfig(env))).rejects.toThrow('fetch failed');
  });
});
