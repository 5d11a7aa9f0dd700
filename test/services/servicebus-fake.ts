/**
 * An in-process Azure Service Bus namespace on a loopback port, for the real @azure/service-bus
 * client in its development-emulator mode (`UseDevelopmentEmulator=true`: core-amqp then connects
 * over plain TCP to the endpoint's port instead of TLS on 5671). It speaks what that SDK puts on
 * the wire:
 * - AMQP 1.0 (rhea as the server): SASL ANONYMOUS (the SDK sends the key name without a password)
 *   or PLAIN, then a `$cbs` put-token answered with status-code 202 before any entity link opens.
 * - Queues and topics with subscriptions (a subscription's correlation rules match the subject).
 *   Receivers in peek-lock get messages within their link credit; the delivery tag is the lock
 *   token (in .NET GUID byte order, as the SDK reorders it back), with `x-opt-lock-token`,
 *   `x-opt-sequence-number`, `x-opt-enqueued-time` and `x-opt-locked-until` annotations and the
 *   header's delivery-count (0 on the first delivery). Dispositions settle: accepted completes,
 *   modified/released abandons, rejected with `com.microsoft:dead-letter` moves to
 *   `<entity>/$DeadLetterQueue` with DeadLetterReason/DeadLetterErrorDescription. An expired or
 *   settled lock answers `com.microsoft:message-lock-lost`. A lock that runs out (the entity's lock
 *   duration) or an abandon counts a delivery; reaching the max delivery count dead-letters with
 *   MaxDeliveryCountExceeded. A drain request gives back the unused credit.
 * - `<entity>/$management`: the operations the binding's calls make (renew-lock, peek-message,
 *   schedule-message, and update-disposition, which the SDK settles with when the receiving link
 *   has gone); other operations answer 501.
 * - The administration client's Atom API on the same port over HTTPS: ServiceBusAdministrationClient
 *   always builds `https://<endpoint host:port>/<queue>?api-version=...`, so the port also accepts
 *   TLS (told apart by the first byte) with a self-signed certificate the clients must trust
 *   (`ca`, or `caFile` for NODE_EXTRA_CA_CERTS). GET of a queue returns its QueueDescription entry
 *   with CountDetails; an unknown queue the empty feed Service Bus answers.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as https from 'https';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { randomUUID } from 'crypto';
import rhea from 'rhea';

/** How a queue or subscription keeps its messages. */
export interface EntitySettings {
  /** How long a peek-lock lasts. @default 60000 */
  readonly lockDurationMs?: number;
  /** Deliveries before a message is dead-lettered with MaxDeliveryCountExceeded. @default 10 */
  readonly maxDeliveryCount?: number;
  /** Window in which a message id seen before is dropped (requires_duplicate_detection). @default 0 (off) */
  readonly duplicateDetectionMs?: number;
}

/** A subscription's settings and its correlation rules. */
export interface SubscriptionSettings extends EntitySettings {
  /** Subjects (labels) the subscription's correlation filters accept. @default every message (the TrueFilter rule) */
  readonly subjects?: readonly string[];
}

/** A message as a test reads it back from an entity. */
export interface StoredView {
  readonly sequenceNumber: number;
  readonly messageId?: string;
  readonly subject?: string;
  readonly body: unknown;
  readonly applicationProperties: Record<string, unknown>;
  readonly deliveryCount: number;
}

export interface ServiceBusFake {
  /** `Endpoint=sb://127.0.0.1:<port>/;SharedAccessKeyName=…;SharedAccessKey=…;UseDevelopmentEmulator=true`. */
  readonly connectionString: string;
  readonly port: number;
  /** The HTTPS certificate (PEM) the administration client must trust. */
  readonly ca: string;
  /** The same certificate in a file, for NODE_EXTRA_CA_CERTS of a child process. */
  readonly caFile: string;
  createQueue(name: string, settings?: EntitySettings): void;
  createTopic(name: string, settings?: Pick<EntitySettings, 'duplicateDetectionMs'>): void;
  createSubscription(topic: string, name: string, settings?: SubscriptionSettings): void;
  /** The active messages of a queue or subscription path (`<topic>/Subscriptions/<name>`, `…/$DeadLetterQueue`). */
  messages(entityPath: string): StoredView[];
  /** Resolves with the active messages of `entityPath` once `until` accepts them (checked on each arrival). */
  waitFor(entityPath: string, until: (messages: StoredView[]) => boolean): Promise<StoredView[]>;
  close(): Promise<void>;
}

/** rhea's delivery outcomes, which its typings leave out. */
interface Outcome {
  described(): unknown;
}
const outcomes = rhea.message as unknown as {
  accepted(): Outcome;
  released(): Outcome;
  modified(fields: { undeliverable_here: boolean }): Outcome;
  rejected(fields: { error?: { condition: string; description: string } }): Outcome;
};
const decode = (encoded: Buffer) => rhea.message.decode(encoded) as unknown as rhea.Message;

const DEAD_LETTER_CONDITION = 'com.microsoft:dead-letter';
const LOCK_LOST = 'com.microsoft:message-lock-lost';
const BATCH_FORMAT = 0x80013700;
/** Standard tier's largest message. */
const MAX_MESSAGE_BYTES = 256 * 1024;

interface Lock {
  readonly token: string;
  until: number;
  timer: NodeJS.Timeout;
}

interface Stored {
  readonly seq: number;
  readonly message: rhea.Message;
  readonly enqueuedAt: number;
  deliveryCount: number;
  applicationProperties: Record<string, unknown>;
  lock?: Lock;
}

/** One list of messages receivers take from: a queue, a subscription or a dead-letter subqueue. */
class Store {
  readonly messages: Stored[] = [];
  readonly receivers = new Set<any>();
  readonly watchers = new Set<() => void>();
  constructor(
    readonly path: string,
    readonly lockDurationMs: number,
    readonly maxDeliveryCount: number,
    /** Where dead letters go; none for a dead-letter subqueue itself. */
    readonly deadLetters?: Store,
  ) {}

  add(stored: Stored) {
    this.messages.push(stored);
    this.messages.sort((a, b) => a.seq - b.seq);
    for (const watcher of this.watchers) watcher();
    this.pump();
  }

  remove(stored: Stored) {
    if (stored.lock) clearTimeout(stored.lock.timer);
    stored.lock = undefined;
    const at = this.messages.indexOf(stored);
    if (at >= 0) this.messages.splice(at, 1);
  }

  /** An abandon or a lock that ran out: one more delivery, dead-lettered at the entity's maximum. */
  unlock(stored: Stored) {
    if (stored.lock) clearTimeout(stored.lock.timer);
    stored.lock = undefined;
    stored.deliveryCount++;
    if (this.deadLetters && stored.deliveryCount >= this.maxDeliveryCount) {
      this.remove(stored);
      stored.applicationProperties = {
        ...stored.applicationProperties,
        DeadLetterReason: 'MaxDeliveryCountExceeded',
        DeadLetterErrorDescription: `Message could not be consumed after ${this.maxDeliveryCount} delivery attempts.`,
      };
      stored.deliveryCount = 0;
      this.deadLetters.add(stored);
    }
    this.pump();
  }

  deadLetter(stored: Stored, info: Record<string, unknown>) {
    this.remove(stored);
    stored.applicationProperties = { ...stored.applicationProperties, ...info };
    this.deadLetters!.add(stored);
  }

  lock(stored: Stored): Lock {
    const token = randomUUID();
    const until = Date.now() + this.lockDurationMs;
    const timer = setTimeout(() => {
      if (stored.lock?.token === token) this.unlock(stored);
    }, this.lockDurationMs);
    timer.unref();
    stored.lock = { token, until, timer };
    return stored.lock;
  }

  byToken(token: string): Stored | undefined {
    return this.messages.find((s) => s.lock?.token === token && s.lock.until > Date.now());
  }

  /** Hands free messages to the receivers with credit; answers a drain once nothing is left to give. */
  pump() {
    for (const sender of this.receivers) {
      while (sender.is_open() && roomOf(sender) > 0) {
        const next = this.messages.find((s) => !s.lock);
        if (!next) break;
        this.deliver(sender, next);
      }
      if (sender.is_open()) sender.set_drained(true);
    }
  }

  private deliver(sender: any, stored: Stored) {
    const lock = this.lock(stored);
    const tag = reorderGuid(Buffer.from(rhea.string_to_uuid(lock.token)));
    const delivery = sender.send(wireMessage(stored, lock.until, lock.token), tag);
    (sender.fakeSent ??= []).push(delivery);
    // What a disposition on this transfer settles.
    delivery.fake = { store: this, stored, token: lock.token };
  }
}

/**
 * The credit a receiver has left: rhea takes a transfer off the link's credit only once it writes
 * it, so the deliveries sent but not yet written count too.
 */
function roomOf(sender: any): number {
  if (!sender.session.outgoing.available()) return 0;
  const written = sender.session.outgoing.next_pending_delivery;
  sender.fakeSent = (sender.fakeSent ?? []).filter((d: { id: number }) => d.id >= written);
  return sender.credit - sender.fakeSent.length;
}

/** .NET writes a GUID's first three groups little-endian; the SDK reorders the delivery tag back. */
function reorderGuid(b: Buffer): Buffer {
  return Buffer.from([b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], ...b.subarray(8)]);
}

/** The message as a receiver gets it: the stored message with the broker's annotations. */
function wireMessage(stored: Stored, lockedUntil: number | undefined, token: string | undefined): rhea.Message {
  const annotations: Record<string, unknown> = {
    ...(stored.message.message_annotations ?? {}),
    'x-opt-sequence-number': rhea.types.wrap_long(stored.seq),
    'x-opt-enqueued-time': new Date(stored.enqueuedAt),
  };
  if (token) annotations['x-opt-lock-token'] = rhea.types.wrap_uuid(rhea.string_to_uuid(token));
  if (lockedUntil) annotations['x-opt-locked-until'] = new Date(lockedUntil);
  return {
    ...stored.message,
    delivery_count: stored.deliveryCount,
    application_properties: stored.applicationProperties,
    message_annotations: annotations,
  } as rhea.Message;
}

interface Entity {
  readonly kind: 'queue' | 'topic';
  readonly duplicateDetectionMs: number;
  readonly seenIds: Map<string, number>;
  /** A queue's own store; a topic has none. */
  readonly store?: Store;
  readonly subscriptions: Map<string, { store: Store; subjects?: readonly string[] }>;
  readonly scheduled: Set<NodeJS.Timeout>;
  readonly createdAt: Date;
}

class Namespace {
  readonly entities = new Map<string, Entity>();
  private seq = 0;
  readonly timers = new Set<NodeJS.Timeout>();

  createStore(path: string, settings: EntitySettings) {
    const lock = settings.lockDurationMs ?? 60_000;
    const dead = new Store(`${path}/$DeadLetterQueue`, lock, Infinity);
    return new Store(path, lock, settings.maxDeliveryCount ?? 10, dead);
  }

  createQueue(name: string, settings: EntitySettings = {}) {
    this.entities.set(name.toLowerCase(), {
      kind: 'queue',
      duplicateDetectionMs: settings.duplicateDetectionMs ?? 0,
      seenIds: new Map(),
      store: this.createStore(name, settings),
      subscriptions: new Map(),
      scheduled: new Set(),
      createdAt: new Date(),
    });
  }

  createTopic(name: string, settings: Pick<EntitySettings, 'duplicateDetectionMs'> = {}) {
    this.entities.set(name.toLowerCase(), {
      kind: 'topic',
      duplicateDetectionMs: settings.duplicateDetectionMs ?? 0,
      seenIds: new Map(),
      subscriptions: new Map(),
      scheduled: new Set(),
      createdAt: new Date(),
    });
  }

  createSubscription(topic: string, name: string, settings: SubscriptionSettings = {}) {
    const entity = this.entities.get(topic.toLowerCase());
    if (entity?.kind !== 'topic') throw new Error(`no topic ${topic}`);
    entity.subscriptions.set(name.toLowerCase(), {
      store: this.createStore(`${topic}/Subscriptions/${name}`, settings),
      subjects: settings.subjects,
    });
  }

  /** The store an address names (`q`, `q/$DeadLetterQueue`, `t/Subscriptions/s[/$DeadLetterQueue]`). */
  store(address: string): Store | undefined {
    const parts = address.replace(/^\/+/, '').toLowerCase().split('/');
    const dead = parts[parts.length - 1] === '$deadletterqueue';
    if (dead) parts.pop();
    const entity = this.entities.get(parts[0]);
    let store: Store | undefined;
    if (parts.length === 1) store = entity?.store;
    else if (parts.length === 3 && parts[1] === 'subscriptions') store = entity?.subscriptions.get(parts[2])?.store;
    return dead ? store?.deadLetters : store;
  }

  /** Stores a sent message (or schedules it); throws an AMQP error for what Service Bus refuses. */
  accept(address: string, message: rhea.Message, size: number): number {
    const name = address.replace(/^\/+/, '').toLowerCase();
    const entity = this.entities.get(name);
    if (!entity) throw amqpError('amqp:not-found', `The messaging entity '${address}' could not be found.`);
    if (size > MAX_MESSAGE_BYTES)
      throw amqpError(
        'com.microsoft:message-size-exceeded',
        `The received message (size ${size} bytes) exceeds the limit (${MAX_MESSAGE_BYTES} bytes) currently allowed on the link.`,
      );
    const seq = ++this.seq;
    // The broker names a message its sender left unnamed.
    if (message.message_id === undefined) message.message_id = randomUUID().replace(/-/g, '');
    const id = String(message.message_id);
    const now = Date.now();
    if (entity.duplicateDetectionMs > 0) {
      const seen = entity.seenIds.get(id);
      if (seen !== undefined && now - seen < entity.duplicateDetectionMs) return seq;
      entity.seenIds.set(id, now);
    }
    const at = message.message_annotations?.['x-opt-scheduled-enqueue-time'] as Date | undefined;
    const enqueue = () => {
      for (const store of this.targets(entity, message))
        store.add({
          seq,
          message,
          enqueuedAt: Date.now(),
          deliveryCount: 0,
          applicationProperties: { ...(message.application_properties ?? {}) },
        });
    };
    const delay = at ? new Date(at).getTime() - now : 0;
    if (delay > 0) {
      const timer = setTimeout(() => {
        entity.scheduled.delete(timer);
        enqueue();
      }, delay);
      timer.unref();
      entity.scheduled.add(timer);
    } else enqueue();
    return seq;
  }

  private targets(entity: Entity, message: rhea.Message): Store[] {
    if (entity.store) return [entity.store];
    return [...entity.subscriptions.values()]
      .filter((s) => !s.subjects || s.subjects.includes(String(message.subject ?? '')))
      .map((s) => s.store);
  }

  close() {
    for (const entity of this.entities.values()) {
      for (const timer of entity.scheduled) clearTimeout(timer);
      const stores = [entity.store, ...[...entity.subscriptions.values()].map((s) => s.store)];
      for (const store of stores.filter((s): s is Store => !!s))
        for (const s of [...store.messages, ...store.deadLetters!.messages]) if (s.lock) clearTimeout(s.lock.timer);
    }
  }
}

/** The outcome the broker settles with: the one it applied. */
function settledOutcome(
  outcome: 'complete' | 'abandon' | 'deadLetter',
  state: { undeliverable_here?: boolean } | undefined,
) {
  if (outcome === 'complete') return outcomes.accepted().described();
  if (outcome === 'abandon')
    return state?.undeliverable_here === undefined
      ? outcomes.released().described()
      : outcomes.modified({ undeliverable_here: false }).described();
  // Without the error: the SDK fails a settlement whose settled state carries one.
  return outcomes.rejected({}).described();
}

const amqpError = (condition: string, description: string) =>
  Object.assign(new Error(description), { condition, description });

function view(stored: Stored): StoredView {
  // A data section (what the SDK sends a JSON body as) holds the bytes; an AMQP value holds itself.
  const section = stored.message.body as { typecode?: number; content?: unknown } | undefined;
  const body = section?.typecode === 0x75 ? section.content : section;
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : undefined;
  let parsed: unknown = body;
  if (text !== undefined) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return {
    sequenceNumber: stored.seq,
    messageId: stored.message.message_id !== undefined ? String(stored.message.message_id) : undefined,
    subject: stored.message.subject,
    body: parsed,
    applicationProperties: stored.applicationProperties,
    deliveryCount: stored.deliveryCount,
  };
}

/** A self-signed certificate for 127.0.0.1 (openssl is part of the image). */
export function certificate(dir: string): { key: string; cert: string; certFile: string } {
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  return { key: fs.readFileSync(keyFile, 'utf8'), cert: fs.readFileSync(certFile, 'utf8'), certFile };
}

const xmlEscape = (s: string) =>
  s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

/** ISO 8601 duration of whole seconds, as QueueDescription writes LockDuration. */
const duration = (ms: number) => `PT${Math.round(ms / 1000)}S`;

/** The Atom entry `GET /<queue>` returns (QueueDescription with CountDetails). */
function queueEntry(host: string, name: string, entity: Entity): string {
  const store = entity.store!;
  const active = store.messages.length;
  const dead = store.deadLetters!.messages.length;
  const at = entity.createdAt.toISOString();
  const now = new Date().toISOString();
  const url = `https://${host}/${xmlEscape(name)}?api-version=2021-05`;
  const count = (tag: string, n: number) => `<d2p1:${tag}>${n}</d2p1:${tag}>`;
  return (
    `<entry xmlns="http://www.w3.org/2005/Atom"><id>${url}</id><title type="text">${xmlEscape(name)}</title>` +
    `<published>${at}</published><updated>${at}</updated><author><name>fake</name></author>` +
    `<link rel="self" href="${url}"/><content type="application/xml">` +
    '<QueueDescription xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">' +
    `<LockDuration>${duration(store.lockDurationMs)}</LockDuration><MaxSizeInMegabytes>1024</MaxSizeInMegabytes>` +
    `<RequiresDuplicateDetection>${entity.duplicateDetectionMs > 0}</RequiresDuplicateDetection>` +
    '<RequiresSession>false</RequiresSession><DeadLetteringOnMessageExpiration>true</DeadLetteringOnMessageExpiration>' +
    `<MaxDeliveryCount>${store.maxDeliveryCount}</MaxDeliveryCount><EnableBatchedOperations>true</EnableBatchedOperations>` +
    `<SizeInBytes>0</SizeInBytes><MessageCount>${active + dead + entity.scheduled.size}</MessageCount>` +
    '<IsAnonymousAccessible>false</IsAnonymousAccessible><Status>Active</Status>' +
    `<CreatedAt>${at}</CreatedAt><UpdatedAt>${at}</UpdatedAt><AccessedAt>${now}</AccessedAt>` +
    '<SupportOrdering>true</SupportOrdering>' +
    '<CountDetails xmlns:d2p1="http://schemas.microsoft.com/netservices/2011/06/servicebus">' +
    count('ActiveMessageCount', active) +
    count('DeadLetterMessageCount', dead) +
    count('ScheduledMessageCount', entity.scheduled.size) +
    count('TransferMessageCount', 0) +
    count('TransferDeadLetterMessageCount', 0) +
    '</CountDetails><EnablePartitioning>false</EnablePartitioning><EnableExpress>false</EnableExpress>' +
    '</QueueDescription></content></entry>'
  );
}

/** What Service Bus answers for an entity that does not exist: an empty feed. */
const emptyFeed = (host: string, name: string) =>
  `<feed xmlns="http://www.w3.org/2005/Atom"><title type="text">Publicly Listed Services</title>` +
  `<id>https://${host}/${xmlEscape(name)}?api-version=2021-05</id><updated>${new Date().toISOString()}</updated>` +
  '<link rel="self" href="https://' +
  host +
  '/"/></feed>';

/** Starts the fake on a free loopback port. */
export async function startServiceBusFake(): Promise<ServiceBusFake> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'servicebus-fake-'));
  const { key, cert, certFile } = certificate(dir);
  const namespace = new Namespace();
  const container = rhea.create_container({ id: 'servicebus-fake' });
  container.sasl_server_mechanisms.enable_anonymous();
  container.sasl_server_mechanisms.enable_plain(() => true);
  const connections = new Set<any>();
  const sockets = new Set<net.Socket>();
  let host = '127.0.0.1';

  const admin = https.createServer({ key, cert }, (request, response) => {
    const url = new URL(request.url ?? '/', `https://${host}`);
    const name = decodeURIComponent(url.pathname.replace(/^\/+/, ''));
    if (!request.headers.authorization) {
      response.writeHead(401, { 'content-type': 'application/xml' });
      response.end(
        '<Error><Code>401</Code><Detail>MissingToken: the request has no Authorization header.</Detail></Error>',
      );
      return;
    }
    if (request.method !== 'GET') {
      response.writeHead(405, { 'content-type': 'application/xml' });
      response.end(
        `<Error><Code>405</Code><Detail>The fake serves GET of a queue only, not ${xmlEscape(request.method ?? '')}.</Detail></Error>`,
      );
      return;
    }
    const entity = namespace.entities.get(name.toLowerCase());
    response.writeHead(200, { 'content-type': 'application/atom+xml;type=entry;charset=utf-8' });
    response.end(entity?.kind === 'queue' ? queueEntry(host, name, entity) : emptyFeed(host, name));
  });

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // TLS starts with a handshake record (0x16); AMQP with its "AMQP" protocol header.
    socket.once('data', (first) => {
      socket.pause();
      socket.unshift(first);
      if (first[0] === 0x16) {
        // TLS wraps a socket's handle, past what was unshifted: relay to the HTTPS server's own port.
        const upstream = net.connect((admin.address() as net.AddressInfo).port, '127.0.0.1');
        sockets.add(upstream);
        upstream.once('close', () => sockets.delete(upstream));
        upstream.on('error', () => socket.destroy());
        socket.on('error', () => upstream.destroy());
        socket.pipe(upstream).pipe(socket);
      } else {
        const connection = container.create_connection({ autoaccept: false } as any) as any;
        connections.add(connection);
        connection.accept(socket);
        socket.once('close', () => connections.delete(connection));
      }
      socket.resume();
    });
  });

  const authorized = new WeakSet<any>();

  /** Sends `response` on the link of this connection the requester listens on for `replyTo`. */
  const reply = (context: any, request: rhea.Message, response: rhea.Message) => {
    // The reply-to names the requester's receiving link: by its target address, else (core-amqp's
    // $cbs link has none) by its source being the address the request went to.
    const requested = context.receiver.remote.attach?.target?.address;
    const link =
      context.connection.find_sender(
        (l: any) => l.is_open() && l.remote.attach?.target?.address === request.reply_to,
      ) ?? context.connection.find_sender((l: any) => l.is_open() && l.remote.attach?.source?.address === requested);
    if (!link) return;
    link.send({ ...response, correlation_id: request.message_id, to: request.reply_to });
  };

  const management = (context: any, store: Store, request: rhea.Message) => {
    const operation = String(request.application_properties?.operation ?? '');
    const body = (request.body ?? {}) as Record<string, any>;
    const answer = (statusCode: number, description: string, responseBody?: unknown, condition?: string) =>
      reply(context, request, {
        application_properties: {
          statusCode,
          statusDescription: description,
          ...(condition ? { 'error-condition': condition } : {}),
        },
        body: responseBody,
      } as rhea.Message);
    switch (operation) {
      case 'com.microsoft:renew-lock': {
        const tokens: any[] = body['lock-tokens'] ?? [];
        const expirations: Date[] = [];
        for (const raw of tokens) {
          const token = rhea.uuid_to_string(raw);
          const stored = store.byToken(token);
          if (!stored)
            return answer(
              410,
              'The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue.',
              undefined,
              LOCK_LOST,
            );
          const lock = stored.lock!;
          clearTimeout(lock.timer);
          lock.until = Date.now() + store.lockDurationMs;
          lock.timer = setTimeout(() => {
            if (stored.lock === lock) store.unlock(stored);
          }, store.lockDurationMs);
          lock.timer.unref();
          expirations.push(new Date(lock.until));
        }
        return answer(200, 'OK', { expirations: rhea.types.wrap_array(expirations, 0x83, undefined) });
      }
      case 'com.microsoft:peek-message': {
        const fromRaw = body['from-sequence-number'];
        const from = typeof fromRaw === 'number' ? fromRaw : Number(Buffer.from(fromRaw).readBigInt64BE());
        const count = Number(body['message-count'] ?? 1);
        const page = store.messages.filter((s) => s.seq >= from).slice(0, count);
        if (page.length === 0) return answer(204, 'No messages to peek');
        return answer(200, 'OK', {
          messages: page.map((s) =>
            rhea.types.wrap_map({
              message: rhea.types.wrap_binary(rhea.message.encode(wireMessage(s, s.lock?.until, undefined))),
            }),
          ),
        });
      }
      case 'com.microsoft:schedule-message': {
        if (store.path.includes('/')) return answer(400, 'Messages are scheduled on a queue or topic only.');
        const sequenceNumbers: unknown[] = [];
        for (const entry of (body.messages ?? []) as any[]) {
          const encoded: Buffer = entry.message;
          const message = decode(encoded);
          try {
            sequenceNumbers.push(rhea.types.wrap_long(namespace.accept(store.path, message, encoded.length)));
          } catch (error) {
            const e = error as { condition: string; description: string };
            return answer(400, e.description, undefined, e.condition);
          }
        }
        return answer(200, 'OK', { 'sequence-numbers': rhea.types.wrap_list(sequenceNumbers) });
      }
      case 'com.microsoft:update-disposition': {
        // What the SDK sends when the link that received a message has gone.
        const stored = store.byToken(
          rhea.uuid_to_string(((body['lock-tokens'] ?? []) as any[])[0] ?? Buffer.alloc(16)),
        );
        if (!stored)
          return answer(
            410,
            'The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue.',
            undefined,
            LOCK_LOST,
          );
        const status = String(body['disposition-status']);
        if (status === 'completed') store.remove(stored);
        else if (status === 'abandoned') store.unlock(stored);
        else if (status === 'suspended' && store.deadLetters)
          store.deadLetter(stored, {
            ...((body['properties-to-modify'] as object | undefined) ?? {}),
            DeadLetterReason: body['deadletter-reason'],
            DeadLetterErrorDescription: body['deadletter-description'],
          });
        else return answer(400, `The fake cannot apply disposition ${JSON.stringify(status)} here.`);
        store.pump();
        return answer(200, 'OK');
      }
      default:
        return answer(501, `The fake does not implement the management operation ${JSON.stringify(operation)}.`);
    }
  };

  container.on('connection_open', (context: any) => {
    // The namespace host the SDK asked for, so the Atom entries name it as Service Bus would.
    if (context.connection.remote.open?.hostname) host = String(context.connection.remote.open.hostname);
  });

  container.on('receiver_open', (context: any) => {
    const receiver = context.receiver;
    const address: string = receiver.remote.attach.target?.address ?? '';
    receiver.set_target(receiver.remote.attach.target);
    receiver.set_source(receiver.remote.attach.source);
    if (address === '$cbs' || address.endsWith('/$management')) return;
    const name = address.replace(/^\/+/, '').toLowerCase();
    if (!authorized.has(context.connection))
      return receiver.close({ condition: 'amqp:unauthorized-access', description: 'No put-token on $cbs yet.' });
    if (!namespace.entities.has(name))
      return receiver.close({
        condition: 'amqp:not-found',
        description: `The messaging entity '${address}' could not be found.`,
      });
    receiver.local.attach.max_message_size = MAX_MESSAGE_BYTES;
  });

  container.on('sender_open', (context: any) => {
    const sender = context.sender;
    const address: string = sender.remote.attach.source?.address ?? '';
    sender.set_source(sender.remote.attach.source);
    sender.set_target(sender.remote.attach.target);
    if (address === '$cbs' || address.endsWith('/$management')) return;
    if (!authorized.has(context.connection))
      return sender.close({ condition: 'amqp:unauthorized-access', description: 'No put-token on $cbs yet.' });
    const store = namespace.store(address);
    if (!store)
      return sender.close({
        condition: 'amqp:not-found',
        description: `The messaging entity '${address}' could not be found.`,
      });
    sender.fakeStore = store;
    store.receivers.add(sender);
  });

  const forget = (context: any) => {
    const sender = context.sender;
    if (sender?.fakeStore) (sender.fakeStore as Store).receivers.delete(sender);
  };
  container.on('sender_close', forget);
  container.on('sender_error', forget);
  container.on('disconnected', (context: any) => {
    for (const entity of namespace.entities.values()) {
      const stores = [entity.store, ...[...entity.subscriptions.values()].map((s) => s.store)];
      for (const store of stores.filter((s): s is Store => !!s))
        for (const s of [store, store.deadLetters!])
          for (const link of [...s.receivers]) if (link.connection === context.connection) s.receivers.delete(link);
    }
  });

  container.on('sendable', (context: any) => (context.sender.fakeStore as Store | undefined)?.pump());
  container.on('sender_draining', (context: any) => (context.sender.fakeStore as Store | undefined)?.pump());

  container.on('message', (context: any) => {
    const receiver = context.receiver;
    const address: string = receiver.target?.address ?? receiver.remote.attach.target?.address ?? '';
    const message: rhea.Message = context.message;
    if (address === '$cbs') {
      context.delivery.accept();
      const props = message.application_properties ?? {};
      const ok = props.operation === 'put-token' && typeof message.body === 'string' && !!message.body;
      if (ok) authorized.add(context.connection);
      reply(context, message, {
        body: undefined,
        application_properties: {
          'status-code': ok ? 202 : 401,
          'status-description': ok ? 'Accepted' : 'The put-token request lacks a token.',
        },
      } as rhea.Message);
      return;
    }
    if (address.endsWith('/$management')) {
      context.delivery.accept();
      const store = namespace.store(address.slice(0, -'/$management'.length));
      if (!store)
        return reply(context, message, {
          body: undefined,
          application_properties: {
            statusCode: 404,
            statusDescription: `No entity at ${address}`,
            'error-condition': 'amqp:not-found',
          },
        } as rhea.Message);
      return management(context, store, message);
    }
    const size = (context.delivery.data as Buffer[] | undefined)?.reduce((n, b) => n + b.length, 0) ?? 0;
    try {
      if (context.delivery.format === BATCH_FORMAT) {
        // A batch arrives undecoded (rhea decodes format 0 only); each of its data sections holds one encoded message.
        const body = rhea.message.decode(context.message as unknown as Buffer).body as {
          multiple?: boolean;
          content: Buffer | Buffer[];
        };
        const sections = body.multiple ? (body.content as Buffer[]) : [body.content as Buffer];
        for (const encoded of sections) namespace.accept(address, decode(encoded), encoded.length);
      } else namespace.accept(address, message, size);
      context.delivery.accept();
    } catch (error) {
      const e = error as { condition?: string; description?: string; message: string };
      context.delivery.reject({
        condition: e.condition ?? 'amqp:internal-error',
        description: e.description ?? e.message,
      });
    }
  });

  /** A receiver's disposition: settles the stored message if its lock is the one the delivery carries. */
  const settle = (context: any, outcome: 'complete' | 'abandon' | 'deadLetter') => {
    const delivery = context.delivery;
    const fake = delivery.fake as { store: Store; stored: Stored; token: string } | undefined;
    if (!fake) return;
    const { store, stored, token } = fake;
    const live = stored.lock?.token === token && stored.lock.until > Date.now() && store.messages.includes(stored);
    if (!live) {
      delivery.update(
        true,
        outcomes
          .rejected({
            error: {
              condition: LOCK_LOST,
              description:
                'The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue.',
            },
          })
          .described(),
      );
      return;
    }
    if (outcome === 'complete') store.remove(stored);
    else if (outcome === 'abandon') store.unlock(stored);
    else {
      const error = delivery.remote_state?.error ?? {};
      if (!store.deadLetters || error.condition !== DEAD_LETTER_CONDITION) {
        delivery.update(
          true,
          outcomes
            .rejected({
              error: {
                condition: 'amqp:not-allowed',
                description: store.deadLetters
                  ? `A rejected delivery must carry ${DEAD_LETTER_CONDITION}.`
                  : 'A message in a dead-letter subqueue cannot be dead-lettered again.',
              },
            })
            .described(),
        );
        return;
      }
      store.deadLetter(stored, { ...(error.info ?? {}) });
    }
    delivery.update(true, settledOutcome(outcome, delivery.remote_state));
    store.pump();
  };
  container.on('accepted', (context: any) => settle(context, 'complete'));
  container.on('released', (context: any) => settle(context, 'abandon'));
  container.on('rejected', (context: any) => settle(context, 'deadLetter'));

  await new Promise<void>((resolve, reject) => {
    admin.once('error', reject);
    admin.listen(0, '127.0.0.1', () => resolve());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  const findStore = (entityPath: string) => {
    const store = namespace.store(entityPath);
    if (!store) throw new Error(`no queue or subscription at ${entityPath}`);
    return store;
  };

  return {
    connectionString: `Endpoint=sb://127.0.0.1:${port}/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=fake-key;UseDevelopmentEmulator=true`,
    port,
    ca: cert,
    caFile: certFile,
    createQueue: (name, settings) => namespace.createQueue(name, settings),
    createTopic: (name, settings) => namespace.createTopic(name, settings),
    createSubscription: (topic, name, settings) => namespace.createSubscription(topic, name, settings),
    messages: (entityPath) => findStore(entityPath).messages.map(view),
    waitFor(entityPath, until) {
      const store = findStore(entityPath);
      return new Promise((resolve) => {
        const check = () => {
          const messages = store.messages.map(view);
          if (!until(messages)) return;
          store.watchers.delete(check);
          resolve(messages);
        };
        store.watchers.add(check);
        check();
      });
    },
    async close() {
      namespace.close();
      for (const connection of connections) connection.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      const adminClosed = new Promise<void>((resolve) => admin.close(() => resolve()));
      await Promise.all([closed, adminClosed]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
