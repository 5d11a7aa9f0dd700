/**
 * The connector contract of one Meta surface against the Graph fake (shared by the Facebook and
 * Instagram test files), with the leadgen webhook as Meta signs it.
 */
import { connectorContract } from '../../../contract/connector-contract';
import type { ConnectorModule } from '../../../connector';
import { startFakeMeta, type MetaFake } from '@data-sync/vendor-fakes/meta';
import { sha256 } from '../audience';
import { metaConfigSchema, type MetaConfig } from '../config';
import { metaSignature } from '../webhook';

export function metaConfigFor(fake: MetaFake, extra: Partial<MetaConfig> = {}): MetaConfig {
  const c = fake.credentials;
  return metaConfigSchema.parse({
    accessToken: c.accessToken,
    appSecret: c.appSecret,
    pageId: c.pageId,
    audienceId: c.audienceId,
    verifyToken: c.verifyToken,
    baseUrl: fake.url,
    ...extra,
  });
}

const emailOf = (fake: MetaFake, id: string) =>
  fake.leads.get(id)?.field_data.find((f) => f.name === 'email')?.values[0];

export function metaContract(module: ConnectorModule<MetaConfig>, platform: 'fb' | 'ig'): void {
  let current: MetaFake;
  connectorContract<MetaConfig>({
    name: module.system,
    module,
    object: 'leads',
    pushObject: 'custom_audience',
    // An audience is a set of people: adding someone again keeps the member as first matched.
    pushSemantics: 'first-wins',
    deletes: 'sweep',
    startFake: async (options) =>
      (current = await startFakeMeta({ seed: { leads: options.seed?.leads ?? 0 }, platform })),
    configFor: (_url, pageSize) => metaConfigFor(current, { pageSize }),
    recordId: (record) => String(record.id),
    pushRecords: (count, variant) =>
      Array.from({ length: count }, (_, i) => ({
        email: `audience.${i}@push.example.com`,
        first_name: `First${variant}`,
        last_name: 'Member',
        phone_number: `+4420794600${String(i).padStart(2, '0')}`,
      })),
    tooManyRequests: {
      headers: {
        'x-business-use-case-usage': JSON.stringify({
          '102030405060708': [
            { type: 'pages', call_count: 100, total_cputime: 20, total_time: 30, estimated_time_to_regain_access: 1 },
          ],
        }),
      },
      waitMs: 60_000,
    },
    erasure: {
      email: (fake) => emailOf(fake as MetaFake, fake.ids('leads')[0])!,
      erased: (fake, email) =>
        !fake.ids('leads').some((id) => emailOf(fake as MetaFake, id) === email) &&
        (fake as MetaFake).removed.includes(sha256(email)),
    },
    webhook: {
      body: (config, n) =>
        Buffer.from(
          JSON.stringify({
            object: 'page',
            entry: [
              {
                id: config.pageId,
                time: 1772366400 + n,
                changes: [
                  {
                    field: 'leadgen',
                    value: {
                      leadgen_id: `44440000000${n}`,
                      form_id: '900000000000001',
                      page_id: config.pageId,
                      created_time: 1772366400 + n,
                    },
                  },
                ],
              },
            ],
          }),
        ),
      sign: (config, body, now) => ({
        method: 'POST',
        url: `https://api.example.com/webhooks/${module.system}`,
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': metaSignature(config.appSecret, body) },
        rawBody: body,
        now,
      }),
      forgedConfig: (config) => ({ ...config, appSecret: 'guessed-app-secret' }),
      replay: 'event-id',
    },
  });
}
