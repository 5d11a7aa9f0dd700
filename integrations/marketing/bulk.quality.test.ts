/**
 * Bulk paths at realistic sizes against the fakes: a Klaviyo push above one job's 10,000-profile
 * limit, a Mailchimp push through several POST /batches, a Constant Contact import activity. Prints
 * records per second for the report; asserts only counts.
 */
import { startFakeConstantContact } from '@data-sync/vendor-fakes/constant_contact';
import { startFakeKlaviyo } from '@data-sync/vendor-fakes/klaviyo';
import { startFakeMailchimp } from '@data-sync/vendor-fakes/mailchimp';
import { constantContact } from './constant_contact';
import { klaviyo } from './klaviyo';
import { mailchimp } from './mailchimp';

const instant = { sleep: async () => undefined };

function rate(label: string, count: number, started: number): void {
  const seconds = (Date.now() - started) / 1000;
  console.log(`${label}: ${count} records in ${seconds.toFixed(2)} s (${Math.round(count / seconds)} records/s)`);
}

test('Klaviyo: 10,001 profiles become two bulk import jobs, all upserted', async () => {
  const fake = await startFakeKlaviyo({ seed: { profiles: 0 } });
  try {
    const records = Array.from({ length: 10_001 }, (_, i) => ({ email: `bulk.${i}@example.com`, first_name: `F${i}` }));
    const started = Date.now();
    const result = await klaviyo
      .create({ apiKey: fake.apiKey, baseUrl: fake.url, bulkPollMs: 1 } as never, instant)
      .push('profiles', records);
    rate('klaviyo bulk import', records.length, started);
    expect(result).toEqual({ upserted: 10_001, failed: [] });
    expect([...fake.state.bulkJobs.values()].map((j) => j.profiles.length)).toEqual([10_000, 1]);
    expect(fake.ids('profiles')).toHaveLength(10_001);
  } finally {
    await fake.close();
  }
}, 120_000);

test('Mailchimp: 5,000 members through POST /batches, all upserted', async () => {
  const fake = await startFakeMailchimp({ seed: { newsletter: 0 } });
  try {
    const records = Array.from({ length: 5_000 }, (_, i) => ({
      email_address: `batch.${i}@example.com`,
      merge_fields: { FNAME: `F${i}` },
    }));
    const started = Date.now();
    const result = await mailchimp
      .create({ apiKey: fake.apiKey, baseUrl: fake.url, batchPollMs: 1 } as never, instant)
      .push('newsletter', records);
    rate('mailchimp batches', records.length, started);
    expect(result).toEqual({ upserted: 5_000, failed: [] });
    expect(fake.state.batches.size).toBe(5);
  } finally {
    await fake.close();
  }
}, 120_000);

test('Constant Contact: 5,000 contacts through one JSON import activity', async () => {
  const fake = await startFakeConstantContact({ seed: { contacts: 0 }, perSecond: 1000 });
  try {
    const records = Array.from({ length: 5_000 }, (_, i) => ({
      email_address: `import.${i}@example.com`,
      first_name: `F${i}`,
    }));
    const started = Date.now();
    const config = {
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      refreshToken: fake.refreshToken,
      baseUrl: fake.url,
      tokenUrl: `${fake.url}/oauth2/default/v1/token`,
      listIds: [fake.listId('Newsletter')],
      bulkPollMs: 1,
      requestsPerSecond: 1000,
    };
    const result = await constantContact.create(config as never, instant).push('contacts', records);
    rate('constant contact import', records.length, started);
    expect(result).toEqual({ upserted: 5_000, failed: [] });
    expect(fake.ids('contacts')).toHaveLength(5_000);
  } finally {
    await fake.close();
  }
}, 120_000);
