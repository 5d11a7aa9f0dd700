/**
 * The social part of the demo mode: the Meta Graph fake on loopback (one Page whose Lead Ads forms
 * hold Facebook and Instagram leads, one customer-list audience per integration) and the X fake
 * (mentions, an Ads API custom audience), with connector configs pointing at them.
 */
import { startFakeMeta, type MetaFake } from '../../test/fakes/meta';
import { startFakeX, type XFake } from '../../test/fakes/x';

type Network = 'facebook' | 'instagram' | 'x';

export interface SocialDemoFakes {
  readonly configs: Readonly<Record<Network, Record<string, unknown>>>;
  readonly urls: Readonly<Record<Network, string>>;
  readonly meta: MetaFake;
  readonly x: XFake;
  close(): Promise<void>;
}

/** Seeded leads alternate between Facebook and Instagram. */
export async function startSocialDemoFakes(options: { leads?: number; mentions?: number } = {}): Promise<SocialDemoFakes> {
  const [meta, x] = await Promise.all([startFakeMeta({ seed: { leads: options.leads ?? 60 }, audiences: 2 }), startFakeX({ seed: { mentions: options.mentions ?? 40 } })]);
  const c = meta.credentials;
  const base = { accessToken: c.accessToken, appSecret: c.appSecret, pageId: c.pageId, verifyToken: c.verifyToken, baseUrl: meta.url };
  return {
    configs: {
      facebook: { ...base, audienceId: meta.audienceIds[0] },
      instagram: { ...base, audienceId: meta.audienceIds[1] },
      x: { ...x.credentials, baseUrl: x.url, adsBaseUrl: x.url },
    },
    urls: { facebook: meta.url, instagram: meta.url, x: x.url },
    meta,
    x,
    close: async () => {
      await Promise.all([meta.close(), x.close()]);
    },
  };
}
