/**
 * The analytics part of the demo mode: starts the GA4, Mixpanel and Amplitude fakes on loopback,
 * seeded with generated reports and events, and returns connector configs pointing at them.
 */
import { startFakeAmplitude } from '../amplitude';
import { startFakeGa4 } from '../ga4';
import { startFakeMixpanel } from '../mixpanel';

export interface AnalyticsDemoFakes {
  readonly configs: Readonly<Record<'google_analytics' | 'mixpanel' | 'amplitude', Record<string, unknown>>>;
  readonly urls: Readonly<Record<'google_analytics' | 'mixpanel' | 'amplitude', string>>;
  close(): Promise<void>;
}

/** The fakes hold the last few days; a full sync reads a week. */
const weekAgo = () => new Date(Date.now() - 7 * 86_400_000).toISOString().slice(0, 10);

export async function startAnalyticsDemoFakes(): Promise<AnalyticsDemoFakes> {
  const [ga4, mixpanel, amplitude] = await Promise.all([
    startFakeGa4({ seed: { metrics: 20 } }),
    startFakeMixpanel({ seed: { events: 200 } }),
    startFakeAmplitude({ seed: { events: 200 } }),
  ]);
  const g = ga4.credentials;
  const m = mixpanel.credentials;
  return {
    configs: {
      google_analytics: {
        propertyId: g.propertyId,
        clientEmail: g.clientEmail,
        privateKey: g.privateKey,
        privateKeyId: g.privateKeyId,
        measurementId: g.measurementId,
        apiSecret: g.apiSecret,
        startDate: weekAgo(),
        tokenUrl: `${ga4.url}/token`,
        dataApiUrl: ga4.url,
        collectUrl: ga4.url,
        userDeletionUrl: ga4.url,
      },
      mixpanel: {
        serviceAccountUsername: m.username,
        serviceAccountSecret: m.secret,
        projectId: m.projectId,
        projectToken: m.projectToken,
        gdprToken: m.gdprToken,
        baseUrl: mixpanel.url,
        startDate: weekAgo(),
      },
      amplitude: { ...amplitude.credentials, baseUrl: amplitude.url, startDate: weekAgo() },
    },
    urls: { google_analytics: ga4.url, mixpanel: mixpanel.url, amplitude: amplitude.url },
    close: async () => {
      await Promise.all([ga4.close(), mixpanel.close(), amplitude.close()]);
    },
  };
}
