/**
 * The social part of the demo mode: the Meta Graph fake on loopback (one Page whose Lead Ads forms
 * hold Facebook and Instagram leads, one customer-list audience per integration) and the X fake
 * (mentions, an Ads API custom audience) and the LinkedIn fake (Lead Gen Forms responses, a Matched
 * Audience), with connector configs pointing at them.
 */
import { startFakeMeta, type MetaFake } from '../meta';
import { startFakeLinkedin, type LinkedinFake } from '../linkedin';
import { startFakeX, type XFake } from '../x';

type Network = 'facebook' | 'instagram' | 'x' | 'linkedin';

export interface SocialDemoFakes {
  readonly configs: Readonly<Record<Network, Record<string, unknown>>>;
  readonly urls: Readonly<Record<Network, string>>;
  readonly meta: MetaFake;
  readonly x: XFake;
  readonly linkedin: LinkedinFake;
  close(): Promise<void>;
}

/** Seeded leads alternate between Facebook and Instagram. */
export async function startSocialDemoFakes(
  options: { leads?: number; mentions?: number } = {},
): Promise<SocialDemoFakes> {
  const [meta, x, linkedin] = await Promise.all([
    startFakeMeta({ seed: { leads: options.leads ?? 60 }, audiences: 2 }),
    startFakeX({ seed: { mentions: options.mentions ?? 40 } }),
    startFakeLinkedin({ seed: { leads: options.leads ?? 30 } }),
  ]);
  const c = meta.credentials;
  const base = {
    accessToken: c.accessToken,
    appSecret: c.appSecret,
    pageId: c.pageId,
    verifyToken: c.verifyToken,
    baseUrl: meta.url,
  };
  return {
    configs: {
      facebook: { ...base, audienceId: meta.audienceIds[0] },
      instagram: { ...base, audienceId: meta.audienceIds[1] },
      x: { ...x.credentials, baseUrl: x.url, adsBaseUrl: x.url },
      linkedin: { ...linkedin.credentials, baseUrl: linkedin.url, tokenUrl: `${linkedin.url}/oauth/v2/accessToken` },
    },
    urls: { facebook: meta.url, instagram: meta.url, x: x.url, linkedin: linkedin.url },
    meta,
    x,
    linkedin,
    close: async () => {
      await Promise.all([meta.close(), x.close(), linkedin.close()]);
    },
  };
}
