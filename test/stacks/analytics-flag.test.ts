import { INTEGRATIONS } from '@data-sync/config';
import { CLOUDS, expectFlagAddsFamily, synthWithFlag } from './support/family-flag';

const ANALYTICS = INTEGRATIONS.filter((i) => i.family === 'analytics' && i.enabled);

test('the catalog has the three analytics platforms of the design document, with GOOGLE_ANALYTICS_CLIENT_ID', () => {
  expect(ANALYTICS.map((i) => i.name).sort()).toEqual(['amplitude', 'google_analytics', 'mixpanel']);
  expect(ANALYTICS.flatMap((i) => i.credentials)).toContain('GOOGLE_ANALYTICS_CLIENT_ID');
});

describe.each(CLOUDS)('%s: enableAnalyticsSync', (cloud) => {
  test('off: no analytics secret, injection or schedule; on: each credential as an empty secret, injected, and a schedule per platform', () => {
    const off = synthWithFlag(cloud, 'enableAnalyticsSync', false);
    const on = synthWithFlag(cloud, 'enableAnalyticsSync', true);
    expectFlagAddsFamily(off, on, ANALYTICS);
  });
});
