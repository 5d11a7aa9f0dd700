import { TEST_DATABASE_URL, describeWithService } from '@data-sync/test-services';
import { TestStore, openTestPglite, openTestPostgres } from '../../test/support/store';
import { QueueBinding } from './binding';
import { CONTRACT_RANDOM, CONTRACT_RETRY, queueBindingContract } from './contract';
import { createStoreBinding } from './store-binding';

function storeContract(label: string, open: () => Promise<TestStore>) {
  let store: TestStore;
  let next = 0;
  const queues = new Map<QueueBinding, string>();
  beforeAll(async () => {
    store = await open();
  });
  afterAll(() => store.drop());
  queueBindingContract(
    label,
    async (shareWith) => {
      const queue = shareWith ? queues.get(shareWith)! : `q${++next}`;
      const binding = createStoreBinding({ db: store.db, queue, retry: CONTRACT_RETRY, random: CONTRACT_RANDOM });
      queues.set(binding, queue);
      return binding;
    },
    (binding) => binding.close(),
  );

  test("enqueueWithin commits the job with the caller's transaction, and a rollback leaves no job", async () => {
    const binding = createStoreBinding({ db: store.db, queue: 'tx' });
    await expect(
      store.db.transaction(async (tx) => {
        await binding.enqueueWithin!(tx, { kind: 'sync', payload: 1 });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect((await binding.depth()).ready).toBe(0);
    const id = await store.db.transaction((tx) => binding.enqueueWithin!(tx, { kind: 'sync', payload: 2 }));
    const [job] = await binding.claim(1, 1000);
    expect(job).toMatchObject({ id, payload: 2 });
    await binding.ack(job);
  });

  test('a job the database refuses fails alone: the jobs enqueued beside it are still queued', async () => {
    const binding = createStoreBinding({ db: store.db, queue: 'poison' });
    const results = await Promise.allSettled([
      binding.enqueue({ kind: 'webhook', payload: { n: 1 } }),
      // PostgreSQL's jsonb refuses the NUL character, which JSON allows.
      binding.enqueue({ kind: 'webhook', payload: { text: 'a\u0000b' } }),
      binding.enqueue({ kind: 'webhook', payload: { n: 3 } }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/\\u0000|Unicode|NUL|null character/i);
    expect((await binding.depth()).ready).toBe(2);
  });
}

describe('store binding on PGlite', () => storeContract('store on PGlite', openTestPglite));
describeWithService('store binding on PostgreSQL', TEST_DATABASE_URL, () =>
  storeContract('store on PostgreSQL', () => openTestPostgres('store_binding')),
);
