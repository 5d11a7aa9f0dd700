import { randomUUID } from 'crypto';
import { PubSub } from '@google-cloud/pubsub';
import { QueueBinding } from './binding';
import { CONTRACT_RANDOM, CONTRACT_RETRY, eventually, queueBindingContract } from './contract';
import {
  ProcessDepthLedger,
  PubsubNames,
  createPubsubBinding,
  deadLetterPolicyAttempts,
  ensurePubsubResources,
} from './pubsub-binding';
import { ProcessDedupeRegistry } from './core/dedupe';
import { describeWithPubsubEmulator, startPubsubEmulator } from '@data-sync/test-services/pubsub-emulator';

const PROJECT = 'data-sync-test';

test('the subscription dead-letter policy allows more deliveries than the binding, within Pub/Sub 5..100', () => {
  expect(deadLetterPolicyAttempts({ ...CONTRACT_RETRY, maxAttempts: 3 })).toBe(5);
  expect(deadLetterPolicyAttempts({ ...CONTRACT_RETRY, maxAttempts: 5 })).toBe(6);
  expect(deadLetterPolicyAttempts({ ...CONTRACT_RETRY, maxAttempts: 500 })).toBe(100);
});

test('the process depth ledger counts a lease or a delay that ran out as ready', () => {
  const ledger = new ProcessDepthLedger();
  ledger.note('s', 'a', 'inFlight', 1000);
  ledger.note('s', 'b', 'delayed', 3000);
  ledger.note('s', 'c', 'dead');
  ledger.note('s', 'd', 'ready');
  ledger.note('s', 'd', 'gone');
  expect(ledger.depth('s', 500)).toEqual({ ready: 0, inFlight: 1, delayed: 1, dead: 1 });
  expect(ledger.depth('s', 2000)).toEqual({ ready: 1, inFlight: 0, delayed: 1, dead: 1 });
  expect(ledger.depth('other', 2000)).toEqual({ ready: 0, inFlight: 0, delayed: 0, dead: 0 });
});

describeWithPubsubEmulator('Pub/Sub binding on the emulator', () => {
  let emulator: Awaited<ReturnType<typeof startPubsubEmulator>>;
  let apiEndpoint: string;
  let admin: PubSub;
  beforeAll(async () => {
    emulator = await startPubsubEmulator();
    apiEndpoint = emulator.apiEndpoint;
    admin = new PubSub({ projectId: PROJECT, apiEndpoint });
  }, 60_000);
  afterAll(async () => {
    await admin?.close();
    emulator?.stop();
  });

  let next = 0;
  const tag = `${process.pid}-${randomUUID().slice(0, 6)}`;
  const createNames = async (): Promise<PubsubNames> => {
    const base = `jobs-${tag}-${++next}`;
    const names = {
      topic: base,
      subscription: `${base}-work`,
      deadLetterTopic: `${base}-dead`,
      deadLetterSubscription: `${base}-dead-keep`,
    };
    await ensurePubsubResources(admin, names, CONTRACT_RETRY);
    return names;
  };

  const names = new Map<QueueBinding, PubsubNames>();
  const dedupe = new ProcessDedupeRegistry();
  const ledger = new ProcessDepthLedger();
  queueBindingContract(
    'Pub/Sub',
    async (shareWith) => {
      const n = shareWith ? names.get(shareWith)! : await createNames();
      const binding = createPubsubBinding({
        ...n,
        projectId: PROJECT,
        apiEndpoint,
        retry: CONTRACT_RETRY,
        random: CONTRACT_RANDOM,
        dedupe,
        depth: ledger,
      });
      names.set(binding, n);
      return binding;
    },
    (binding) => binding.close(),
  );

  test('ensurePubsubResources is idempotent and gives the work subscription its dead-letter policy', async () => {
    const n = await createNames();
    await ensurePubsubResources(admin, n, CONTRACT_RETRY);
    const [metadata] = await admin.subscription(n.subscription).getMetadata();
    expect(metadata.deadLetterPolicy).toMatchObject({
      deadLetterTopic: `projects/${PROJECT}/topics/${n.deadLetterTopic}`,
      maxDeliveryAttempts: 5,
    });
  });

  test('a subscription without a dead-letter policy is refused with the reason: Pub/Sub would not count attempts', async () => {
    const n = await createNames();
    const bare = `${n.subscription}-bare`;
    await admin.topic(n.topic).createSubscription(bare);
    const binding = createPubsubBinding({
      ...n,
      subscription: bare,
      projectId: PROJECT,
      apiEndpoint,
      depth: new ProcessDepthLedger(),
    });
    await binding.enqueue({ kind: 'sync', payload: {} });
    await expect(
      eventually(
        () => binding.claim(1, 5000),
        (jobs) => jobs.length > 0,
      ),
    ).rejects.toThrow(/has no dead-letter policy/);
    await binding.close();
  });

  test('a message that is not a job goes to the dead letters with the reason, never to a worker', async () => {
    const n = await createNames();
    const binding = createPubsubBinding({ ...n, projectId: PROJECT, apiEndpoint, depth: new ProcessDepthLedger() });
    await admin.topic(n.topic).publishMessage({ data: Buffer.from('{"hello":') });
    expect(await binding.claim(1, 5000)).toEqual([]);
    const [dead] = await binding.listDeadLetters();
    expect(dead.lastError).toMatch(/body is not JSON/);
    expect(await binding.redrive()).toBe(0);
    expect(await binding.listDeadLetters()).toHaveLength(1);
    expect(await binding.depth()).toEqual({ ready: 0, inFlight: 0, delayed: 0, dead: 1 });
    await binding.close();
  });

  test('a job dead-lettered by the subscription policy (no binding saw it fail) is listed with a generic error', async () => {
    const n = await createNames();
    const binding = createPubsubBinding({
      ...n,
      projectId: PROJECT,
      apiEndpoint,
      retry: { ...CONTRACT_RETRY, maxAttempts: 50 },
      depth: new ProcessDepthLedger(),
    });
    const id = await binding.enqueue({ kind: 'sync', payload: { n: 1 } });
    // Released on every delivery until the subscription policy's 5 attempts are spent.
    for (let i = 0; i < deadLetterPolicyAttempts(CONTRACT_RETRY); i++) {
      const [job] = await eventually(
        () => binding.claim(1, 60_000),
        (jobs) => jobs.length === 1,
      );
      expect(job.attempts).toBe(i + 1);
      await binding.release!(job);
    }
    const dead = await eventually(
      async () => {
        const again = await binding.claim(1, 60_000);
        if (again.length)
          throw new Error(
            `delivered again on attempt ${again[0].attempts}, past the policy's ${deadLetterPolicyAttempts(CONTRACT_RETRY)}`,
          );
        return binding.listDeadLetters();
      },
      (list) => list.length > 0,
    );
    expect(dead).toEqual([expect.objectContaining({ id, lastError: expect.stringMatching(/dead-letter policy/) })]);
    await binding.close();
  });
});
