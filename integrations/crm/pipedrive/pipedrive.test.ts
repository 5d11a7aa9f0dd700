import { startFakePipedrive, type FakePipedrive } from '@data-sync/vendor-fakes/pipedrive';
import { createPipedrive, pipedrive, pipedriveKey, type PipedriveConfig } from '.';

function pipedriveConfig(url: string, pageSize = 500): PipedriveConfig {
  return pipedrive.configSchema.parse({
    baseUrl: url,
    apiToken: 'fake-pipedrive-token',
    pageSize,
    companyId: 7001,
    webhookUser: 'sync',
    webhookPassword: 'webhook-password-1',
  });
}

const fast = { sleep: async () => undefined };
let fake: FakePipedrive;
afterEach(async () => fake?.close());

test('items sharing the watermark second are not repeated, and a later edit of one is seen', async () => {
  fake = await startFakePipedrive({ seed: { persons: 8 } });
  const connector = createPipedrive(pipedriveConfig(fake.url, 3), fast);
  let cursor: string | null = null;
  const ids: unknown[] = [];
  for (;;) {
    const page = await connector.pull('persons', cursor);
    ids.push(...page.records.map((r) => r.id));
    cursor = page.cursor;
    if (page.done) break;
  }
  expect(ids).toHaveLength(8);
  // The last seeded second holds two items; the inclusive watermark returns them, the boundary drops them.
  const again = await connector.pull('persons', cursor);
  expect(again.records).toEqual([]);
  const last = ids[ids.length - 1] as number;
  fake.touch('persons', String(last));
  const edited = await connector.pull('persons', again.cursor);
  expect(edited.records.map((r) => r.id)).toEqual([last]);
});

test('erase deletes the persons with the email and records that Pipedrive purges them only after 30 days', async () => {
  fake = await startFakePipedrive({ seed: { persons: 3 } });
  const [person] = fake.state.objects.get('persons')!.values();
  const email = (person.emails as { value: string }[])[0].value;
  const outcome = await createPipedrive(pipedriveConfig(fake.url), fast).erase(email.toUpperCase());
  expect(outcome).toEqual({ permanent: false, ids: [String(person.id)], reason: expect.stringContaining('30 days') });
  expect(fake.ids('persons')).not.toContain(String(person.id));
  expect(fake.state.deleted.get('persons')!.has(person.id)).toBe(true);
});

test('push reports items without a key and vendor validation errors per item', async () => {
  fake = await startFakePipedrive({ seed: { persons: 0 } });
  const result = await createPipedrive(pipedriveConfig(fake.url), fast).push('persons', [
    { name: 'No Email' },
    { email: 'ok@example.com', name: 'Ok' },
    { email: 'bad@example.com', name: 'Bad', shoe_size: 44 },
  ]);
  expect(result.upserted).toBe(1);
  expect(result.failed).toEqual([
    { key: '', reason: 'missing email' },
    { key: 'bad@example.com', reason: expect.stringContaining('shoe_size') },
  ]);
});

test('unknown objects and cursors are clear invalid_config errors', async () => {
  fake = await startFakePipedrive({ seed: { persons: 1 } });
  const connector = createPipedrive(pipedriveConfig(fake.url), fast);
  await expect(connector.pull('leads', null)).rejects.toMatchObject({
    kind: 'invalid_config',
    message: expect.stringContaining('persons'),
  });
  await expect(connector.pull('persons', '{"nope":1}')).rejects.toMatchObject({ kind: 'invalid_config' });
});

test('the push key is the primary email, a name or a title', () => {
  expect(pipedriveKey('persons', { emails: [{ value: 'b@x.com' }, { value: 'A@X.com', primary: true }] })).toBe(
    'a@x.com',
  );
  expect(pipedriveKey('organizations', { name: 'Acme' })).toBe('Acme');
  expect(pipedriveKey('deals', { title: 'Big' })).toBe('Big');
});
