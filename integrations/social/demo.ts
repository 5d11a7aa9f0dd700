/**
 * The social part of the demo mode: the Meta Graph fake on loopback (one Page whose Lead Ads forms
 * hold Facebook and Instagram leads, one customer-list audience per integration) and connector configs
 * pointing at it.
 */
import { startFakeMeta, type MetaFake } from '../../test/fakes/meta';

export interface SocialDemoFakes {
  readonly configs: Readonly<Record<'facebook' | 'instagram', Record<string, unknown>>>;
  readonly urls: Readonly<Record<'facebook' | 'instagram', string>>;
  readonly meta: MetaFake;
  close(): Promise<void>;
}

/** Seeded leads alternate between Facebook and Instagram. */
export async function startSocialDemoFakes(options: { leads?: number } = {}): Promise<SocialDemoFakes> {
  const meta = await startFakeMeta({ seed: { leads: options.leads ?? 60 }, audiences: 2 });
  const c = meta.credentials;
  const base = { accessToken: c.accessToken, appSecret: c.appSecret, pageId: c.pageId, verifyToken: c.verifyToken, baseUrl: meta.url };
  return {
    configs: { facebook: { ...base, audienceId: meta.audienceIds[0] }, instagram: { ...base, audienceId: meta.audienceIds[1] } },
    urls: { facebook: meta.url, instagram: meta.url },
    meta,
    close: () => meta.close(),
  };
}
