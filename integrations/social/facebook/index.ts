/** Facebook Page: Lead Ads leads in, Custom Audience members out (integrations/social/meta/). */
import { metaModule } from '../meta/connector';

export { metaConfigSchema as facebookConfigSchema, type MetaConfig as FacebookConfig } from '../meta/config';

export const facebook = metaModule({
  system: 'facebook',
  objects: ['page'],
  ownsLead: (platform) => platform !== 'ig',
});
