/**
 * Instagram professional account: Instagram Lead Ads (leads with platform `ig` in the linked Page's
 * forms) in, the same ad account's Custom Audience out; webhooks for the `instagram` object.
 */
import { metaModule } from '../meta/connector';

export { metaConfigSchema as instagramConfigSchema, type MetaConfig as InstagramConfig } from '../meta/config';

export const instagram = metaModule({
  system: 'instagram',
  objects: ['instagram', 'page'],
  ownsLead: (platform) => platform === 'ig',
});
