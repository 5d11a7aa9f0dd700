/**
 * Service Bus has no emulator that runs here (the official one is a container): the binding is tested
 * at the SDK boundary, against an in-memory fake of the ServiceBusClient methods it uses that keeps
 * Service Bus's rules: peek-lock with a queue-wide LockDuration, lock tokens that die when the lock
 * expires or the message is settled, deliveryCount as the JS SDK exposes it (0 on the first delivery,
 * +1 on abandon or lock expiry), MaxDeliveryCount moving a message to the dead-letter subqueue,
 * scheduled messages, peeks from a sequence number or else on from a cursor the client's receivers of
 * an entity share, settlement only through the receiver that
 * received the message, and closed senders/receivers refusing work.
 */
import { randomUUID } from 'crypto';
import Long from 'long';
import {
  ServiceBusAdministrationClient,
  ServiceBusClient,
  ServiceBusError,
  ServiceBusMessage,
  ServiceBusReceiverOptions,
} from '@azure/service-bus';
import { type ServiceBusFake, startServiceBusFake } from '@data-sync/test-services';
import { CONTRACT_RANDOM, CONTRACT_RETRY, eventually, queueBindingContract } from './contract';
import { QueueBinding } from './binding';
import {
  SbAdmin,
  SbClient,
  SbReceivedMessage,
  SbReceiver,
  SbSender,
  createServiceBusBinding,
} from './servicebus-binding';
import { ProcessDedupeRegistry } from './core/dedupe';

interface Stored {
  readonly seq: number;
  readonly message: ServiceBusMessage;
  readonly enqueuedAt: number;
  scheduledAt: number;
  deliveryCount: number;
  lock?: { token: string; until: number; receiver: FakeReceiver };
  props: Record<string, string | number | boolean | Date | null>;
}

interface Entity {
  active: Stored[];
  scheduled: Stored[];
  dead: Stored[];
}

const MAX_MESSAGE_BYTES = 256 * 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const lockLost = () =>
  new ServiceBusError(
    'The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue.',
    'MessageLockLost',
  );

class FakeServiceBus {
  private readonly entities = new Map<string, Entity>();
  private seq = 0;
  constructor(readonly settings: { lockDurationMs: number; maxDeliveryCount: number }) {}

  entity(name: string): Entity {
    let e = this.entities.get(name);
    if (!e) this.entities.set(name, (e = { active: [], scheduled: [], dead: [] }));
    return e;
  }

  /** Due scheduled messages become active; expired locks are dropped and count a delivery. */
  tick(e: Entity, now = Date.now()) {
    for (const s of e.scheduled.filter((m) => m.scheduledAt <= now)) {
      e.scheduled.splice(e.scheduled.indexOf(s), 1);
      e.active.push(s);
    }
    e.active.sort((a, b) => a.seq - b.seq);
    for (const s of [...e.active]) if (s.lock && s.lock.until <= now) this.unlock(e, s);
    for (const s of e.dead) if (s.lock && s.lock.until <= now) s.lock = undefined;
  }

  unlock(e: Entity, s: Stored) {
    s.lock = undefined;
    s.deliveryCount++;
    if (s.deliveryCount >= this.settings.maxDeliveryCount) {
      e.active.splice(e.active.indexOf(s), 1);
      s.props = {
        ...s.props,
        DeadLetterReason: 'MaxDeliveryCountExceeded',
        DeadLetterErrorDescription: `Message could not be consumed after ${this.settings.maxDeliveryCount} delivery attempts.`,
      };
      e.dead.push(s);
    }
  }

  store(queue: string, message: ServiceBusMessage, scheduledAt: number): number {
    if (!message || typeof message !== 'object' || Array.isArray(message) || !('body' in message))
      throw new TypeError('the fake takes one ServiceBusMessage per call');
    const size = Buffer.byteLength(JSON.stringify(message.body ?? null));
    if (size > MAX_MESSAGE_BYTES)
      throw new ServiceBusError(
        `The message body size ${size} exceeds the limit of ${MAX_MESSAGE_BYTES}`,
        'MessageSizeExceeded',
      );
    const e = this.entity(queue);
    // The broker stores a copy: what the sender mutates later is not what receivers get.
    const stored: Stored = {
      seq: ++this.seq,
      message: structuredClone(message),
      enqueuedAt: Date.now(),
      scheduledAt,
      deliveryCount: 0,
      props: {},
    };
    (scheduledAt > Date.now() ? e.scheduled : e.active).push(stored);
    return stored.seq;
  }

  client(): SbClient & { closed: boolean } {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the SDK-shaped objects below are not methods of the bus
    const bus = this;
    const opened: { close(): Promise<void> }[] = [];
    const peekCursors = new Map<string, number>();
    const client = {
      closed: false,
      createSender(queue: string): SbSender {
        const sender = new FakeSender(bus, queue, () => client.closed);
        opened.push(sender);
        return sender;
      },
      createReceiver(queue: string, options?: ServiceBusReceiverOptions): SbReceiver {
        if (options?.receiveMode !== 'peekLock') throw new Error('the fake supports peekLock receivers only');
        const receiver = new FakeReceiver(
          bus,
          queue,
          options.subQueueType === 'deadLetter',
          () => client.closed,
          peekCursors,
        );
        opened.push(receiver);
        return receiver;
      },
      async close() {
        client.closed = true;
        for (const o of opened) await o.close();
      },
    };
    return client;
  }

  admin(): SbAdmin {
    return {
      getQueueRuntimeProperties: async (queue) => {
        const e = this.entity(queue);
        this.tick(e);
        return {
          activeMessageCount: e.active.length,
          scheduledMessageCount: e.scheduled.length,
          deadLetterMessageCount: e.dead.length,
        };
      },
    };
  }
}

class FakeSender implements SbSender {
  private closed = false;
  constructor(
    private readonly bus: FakeServiceBus,
    private readonly queue: string,
    private readonly clientClosed: () => boolean,
  ) {}
  private open() {
    if (this.closed || this.clientClosed())
      throw new ServiceBusError(
        `The sender for "${this.queue}" has been closed and can no longer be used.`,
        'GeneralError',
      );
  }
  async sendMessages(message: ServiceBusMessage): Promise<void> {
    this.open();
    this.bus.store(this.queue, message, 0);
  }
  async scheduleMessages(message: ServiceBusMessage, at: Date): Promise<unknown[]> {
    this.open();
    return [this.bus.store(this.queue, message, at.getTime())];
  }
  async close() {
    this.closed = true;
  }
}

class FakeReceiver implements SbReceiver {
  private closed = false;
  constructor(
    private readonly bus: FakeServiceBus,
    private readonly queue: string,
    private readonly deadLetters: boolean,
    private readonly clientClosed: () => boolean,
    /** The client's peek cursors by entity (the SDK keeps one per connection and entity path). */
    private readonly peekCursors: Map<string, number>,
  ) {}
  private open() {
    if (this.closed || this.clientClosed())
      throw new ServiceBusError(
        `The receiver for "${this.queue}" has been closed and can no longer be used.`,
        'GeneralError',
      );
  }
  private list(e: Entity) {
    return this.deadLetters ? e.dead : e.active;
  }
  private view(s: Stored, withLock: boolean): SbReceivedMessage {
    const props = { ...(s.message.applicationProperties ?? {}), ...s.props };
    return {
      body: structuredClone(s.message.body),
      messageId: s.message.messageId,
      applicationProperties: props,
      deliveryCount: s.deliveryCount,
      lockToken: withLock ? s.lock?.token : undefined,
      lockedUntilUtc: s.lock ? new Date(s.lock.until) : undefined,
      enqueuedTimeUtc: new Date(s.enqueuedAt),
      sequenceNumber: Long.fromNumber(s.seq),
      deadLetterReason: props.DeadLetterReason as string | undefined,
      deadLetterErrorDescription: props.DeadLetterErrorDescription as string | undefined,
    };
  }
  /** The stored message `m`'s lock token names, if that lock is alive and this receiver's. */
  private locked(m: SbReceivedMessage): { e: Entity; s: Stored } {
    this.open();
    const e = this.bus.entity(this.queue);
    this.bus.tick(e);
    const s = this.list(e).find((x) => x.lock && x.lock.token === m.lockToken);
    if (!s) throw lockLost();
    if (s.lock!.receiver !== this)
      throw new ServiceBusError(
        'This message was received by a different receiver: settle it with that receiver.',
        'GeneralError',
      );
    return { e, s };
  }

  async receiveMessages(max: number, options?: { maxWaitTimeInMs?: number }): Promise<SbReceivedMessage[]> {
    const deadline = Date.now() + (options?.maxWaitTimeInMs ?? 60_000);
    for (;;) {
      this.open();
      const e = this.bus.entity(this.queue);
      this.bus.tick(e);
      const free = this.list(e)
        .filter((s) => !s.lock)
        .slice(0, max);
      if (free.length || Date.now() >= deadline) {
        return free.map((s) => {
          s.lock = { token: randomUUID(), until: Date.now() + this.bus.settings.lockDurationMs, receiver: this };
          return this.view(s, true);
        });
      }
      await sleep(10);
    }
  }
  /** Like the SDK's: from a sequence number, else on from a cursor shared by the client's receivers of the entity. */
  async peekMessages(max: number, options?: { fromSequenceNumber?: Long }): Promise<SbReceivedMessage[]> {
    this.open();
    const e = this.bus.entity(this.queue);
    this.bus.tick(e);
    const cursor = `${this.queue}/${this.deadLetters ? 'dlq' : 'active'}`;
    const from = options?.fromSequenceNumber?.toNumber() ?? (this.peekCursors.get(cursor) ?? 0) + 1;
    const page = this.list(e)
      .filter((s) => s.seq >= from)
      .slice(0, max);
    if (page.length) this.peekCursors.set(cursor, page[page.length - 1].seq);
    return page.map((s) => this.view(s, false));
  }
  async completeMessage(m: SbReceivedMessage) {
    const { e, s } = this.locked(m);
    this.list(e).splice(this.list(e).indexOf(s), 1);
  }
  async abandonMessage(m: SbReceivedMessage) {
    const { e, s } = this.locked(m);
    if (this.deadLetters) {
      s.lock = undefined;
      s.deliveryCount++;
    } else this.bus.unlock(e, s);
  }
  async deadLetterMessage(
    m: SbReceivedMessage,
    options: { deadLetterReason?: string; deadLetterErrorDescription?: string } & {
      [key: string]: number | boolean | string | Date | null;
    } = {},
  ) {
    if (this.deadLetters)
      throw new ServiceBusError('A message in the dead-letter subqueue cannot be dead-lettered again.', 'GeneralError');
    const { e, s } = this.locked(m);
    const { deadLetterReason, deadLetterErrorDescription, ...modify } = options;
    e.active.splice(e.active.indexOf(s), 1);
    s.lock = undefined;
    s.props = {
      ...s.props,
      ...modify,
      DeadLetterReason: deadLetterReason ?? null,
      DeadLetterErrorDescription: deadLetterErrorDescription ?? null,
    };
    e.dead.push(s);
  }
  async renewMessageLock(m: SbReceivedMessage): Promise<Date> {
    const { s } = this.locked(m);
    s.lock!.until = Date.now() + this.bus.settings.lockDurationMs;
    return new Date(s.lock!.until);
  }
  async close() {
    this.closed = true;
  }
}

describe('the Service Bus fake keeps the rules the binding relies on', () => {
  test('deliveryCount is 0 on the first delivery and counts abandons and lock expiries; MaxDeliveryCount dead-letters', async () => {
    const bus = new FakeServiceBus({ lockDurationMs: 100, maxDeliveryCount: 3 });
    const client = bus.client();
    await client.createSender('q').sendMessages({ body: { a: 1 } });
    const receiver = client.createReceiver('q', { receiveMode: 'peekLock' });
    const [first] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 0 });
    expect(first.deliveryCount).toBe(0);
    await receiver.abandonMessage(first);
    const [second] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 0 });
    expect(second.deliveryCount).toBe(1);
    await sleep(150);
    await expect(receiver.completeMessage(second)).rejects.toMatchObject({ code: 'MessageLockLost' });
    const [third] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 0 });
    expect(third.deliveryCount).toBe(2);
    await receiver.abandonMessage(third);
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 0 })).toEqual([]);
    const [dead] = await client
      .createReceiver('q', { receiveMode: 'peekLock', subQueueType: 'deadLetter' })
      .peekMessages(10);
    expect(dead).toMatchObject({ body: { a: 1 }, deadLetterReason: 'MaxDeliveryCountExceeded' });
    await client.close();
  });

  test('a message is settled only by the receiver that received it, and a closed client refuses work', async () => {
    const bus = new FakeServiceBus({ lockDurationMs: 1000, maxDeliveryCount: 10 });
    const client = bus.client();
    await client.createSender('q').sendMessages({ body: 1 });
    const [m] = await client
      .createReceiver('q', { receiveMode: 'peekLock' })
      .receiveMessages(1, { maxWaitTimeInMs: 0 });
    await expect(client.createReceiver('q', { receiveMode: 'peekLock' }).completeMessage(m)).rejects.toThrow(
      /different receiver/,
    );
    await client.close();
    await expect(client.createSender('q').sendMessages({ body: 2 })).rejects.toThrow(/closed/);
  });
});

describe('Service Bus binding against the SDK-boundary fake', () => {
  const LOCK_MS = 1000;
  const buses = new Map<QueueBinding, { bus: FakeServiceBus; queue: string }>();
  const dedupe = new ProcessDedupeRegistry();
  let next = 0;
  const make = (
    bus: FakeServiceBus,
    queue: string,
    extra: Partial<Parameters<typeof createServiceBusBinding>[0]> = {},
  ) =>
    createServiceBusBinding({
      client: bus.client(),
      admin: bus.admin(),
      queue,
      ownsClient: true,
      retry: CONTRACT_RETRY,
      random: CONTRACT_RANDOM,
      dedupe,
      ...extra,
    });

  queueBindingContract(
    'Service Bus (fake)',
    async (shareWith) => {
      const target = shareWith
        ? buses.get(shareWith)!
        : {
            bus: new FakeServiceBus({ lockDurationMs: LOCK_MS, maxDeliveryCount: CONTRACT_RETRY.maxAttempts + 1 }),
            queue: `q${++next}`,
          };
      const binding = make(target.bus, target.queue);
      buses.set(binding, target);
      return binding;
    },
    (binding) => binding.close(),
  );

  test('a lease longer than the queue LockDuration is kept by renewing the lock; closing stops the renewals', async () => {
    const bus = new FakeServiceBus({ lockDurationMs: 300, maxDeliveryCount: 10 });
    const worker = make(bus, 'long');
    const id = await worker.enqueue({ kind: 'sync', payload: {} });
    expect(await worker.claim(1, 2000)).toHaveLength(1);
    await sleep(900);
    const other = make(bus, 'long');
    expect(await other.claim(1, 1000)).toEqual([]);
    expect(await other.depth()).toEqual({ ready: 0, inFlight: 1, delayed: 0, dead: 0 });
    await worker.close();
    const again = await eventually(
      () => other.claim(1, 1000),
      (jobs) => jobs.length === 1,
    );
    expect(again[0]).toMatchObject({ id, attempts: 2 });
    await other.ack(again[0]);
    await other.close();
  });

  test("a job the queue's MaxDeliveryCount dead-lettered is listed with Service Bus's reason and redriven", async () => {
    const bus = new FakeServiceBus({ lockDurationMs: LOCK_MS, maxDeliveryCount: 2 });
    const binding = make(bus, 'mdc', { retry: { ...CONTRACT_RETRY, maxAttempts: 50 } });
    const id = await binding.enqueue({ kind: 'webhook', payload: { x: 1 } });
    for (let attempt = 1; attempt <= 2; attempt++) {
      const [job] = await binding.claim(1, 5000);
      expect(job).toMatchObject({ id, attempts: attempt });
      await binding.release!(job);
    }
    expect(await binding.claim(1, 5000)).toEqual([]);
    const [dead] = await binding.listDeadLetters();
    expect(dead).toMatchObject({
      id,
      payload: { x: 1 },
      lastError: expect.stringMatching(/after 2 delivery attempts/),
    });
    expect(await binding.redrive()).toBe(1);
    const [job] = await binding.claim(1, 5000);
    expect(job).toMatchObject({ id, attempts: 1 });
    await binding.ack(job);
    await binding.close();
  });

  test('a message that is not a job is dead-lettered with the reason, never handed to a worker, and not redriven', async () => {
    const bus = new FakeServiceBus({ lockDurationMs: LOCK_MS, maxDeliveryCount: 10 });
    const binding = make(bus, 'junk');
    await bus.client().createSender('junk').sendMessages({ body: '{"hello":', messageId: 'm-1' });
    expect(await binding.claim(1, 5000)).toEqual([]);
    const [dead] = await binding.listDeadLetters();
    expect(dead.lastError).toMatch(/body is not JSON/);
    expect(await binding.redrive()).toBe(0);
    expect(await binding.listDeadLetters()).toHaveLength(1);
    await binding.close();
  });

  test('a job too large for the queue is refused with a message and leaves its dedupe key free', async () => {
    const bus = new FakeServiceBus({ lockDurationMs: LOCK_MS, maxDeliveryCount: 10 });
    const binding = make(bus, 'big');
    await expect(binding.enqueue({ kind: 'sync', payload: 'x'.repeat(300 * 1024), dedupeKey: 'k' })).rejects.toThrow(
      /exceeds the limit/,
    );
    const id = await binding.enqueue({ kind: 'sync', payload: 'small', dedupeKey: 'k' });
    const [job] = await binding.claim(1, 5000);
    expect(job.id).toBe(id);
    await binding.ack(job);
    await binding.close();
  });
});

describe('Service Bus binding through @azure/service-bus against the AMQP fake', () => {
  // Renewals go over the wire here: a lock shorter than this is lost on a busy machine before the renewal lands.
  const LOCK_MS = 2000;
  let fake: ServiceBusFake;
  const queues = new Map<QueueBinding, string>();
  const dedupe = new ProcessDedupeRegistry();
  let next = 0;
  beforeAll(async () => {
    fake = await startServiceBusFake();
  });
  afterAll(() => fake.close());

  queueBindingContract(
    'Service Bus (SDK on the fake)',
    async (shareWith) => {
      let queue = shareWith && queues.get(shareWith);
      if (!queue) {
        queue = `sdk-q${++next}`;
        fake.createQueue(queue, { lockDurationMs: LOCK_MS, maxDeliveryCount: CONTRACT_RETRY.maxAttempts + 1 });
      }
      const binding = createServiceBusBinding({
        client: new ServiceBusClient(fake.connectionString),
        // The fake's HTTPS certificate is self-signed; a namespace's chains to a public CA.
        admin: new ServiceBusAdministrationClient(fake.connectionString, { tlsOptions: { ca: fake.ca } }),
        queue,
        ownsClient: true,
        retry: CONTRACT_RETRY,
        random: CONTRACT_RANDOM,
        dedupe,
      });
      queues.set(binding, queue);
      return binding;
    },
    (binding) => binding.close(),
  );
});
