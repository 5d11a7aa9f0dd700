import * as path from 'path';
import type { WorkerOptions } from 'miniflare';
import { ROOT } from '../../support/runtime-image';
import { resourcesOf } from './runtime-process';

type Binding =
  | { type: 'plain_text'; name: string; text: string }
  | { type: 'json'; name: string; json: string }
  | { type: 'queue'; name: string; queue_name: string }
  | { type: 'durable_object_namespace'; name: string; class_name: string; script_name?: string }
  | { type: 'hyperdrive'; name: string; id: string };

/** What the boot gives the scripts here: the database for Hyperdrive, values for the secrets set out of band. */
export interface WorkerLocals {
  readonly databaseUrl: string;
  readonly secrets: Readonly<Record<string, string>>;
  /** A plain-text binding's value once deployed (its Terraform references resolved). */
  readonly plainText: (name: string, text: string) => string;
}

/**
 * The stack's Worker scripts as miniflare workers: each script's module file, compatibility settings
 * and bindings (queues by their queue's name, Durable Objects by the script that defines them,
 * Hyperdrive to the local database), and the queue consumers the stack attaches.
 */
export function cloudflareWorkers(stack: any, locals: WorkerLocals): WorkerOptions[] {
  const scripts = resourcesOf(stack, 'cloudflare_workers_script');
  const named = (reference: string, type: string, attribute: string) => {
    const match = new RegExp(`^\\$\\{${type}\\.([^.]+)\\.${attribute}\\}$`).exec(reference);
    if (!match) throw new Error(`expected a reference to a ${type}'s ${attribute}, got ${reference}`);
    const resource = stack.resource[type][match[1]];
    if (!resource) throw new Error(`no ${type} ${match[1]}`);
    return resource;
  };
  const consumers = resourcesOf(stack, 'cloudflare_queue_consumer').filter(([, c]) => c.type === 'worker');
  return scripts.map(([, script]) => {
    // content_file is relative to the stack's folder in cdktf.out/stacks/<stack>.
    const scriptPath = path.join(ROOT, script.content_file.replace(/^\$\{path\.module\}\/\.\.\/\.\.\/\.\.\//, ''));
    const options: Record<string, any> = {
      name: script.script_name,
      modules: true,
      scriptPath,
      compatibilityDate: script.compatibility_date,
      compatibilityFlags: script.compatibility_flags,
      bindings: { ...locals.secrets },
      queueProducers: {},
      durableObjects: {},
      hyperdrives: {},
    };
    for (const b of script.bindings as Binding[]) {
      if (b.type === 'plain_text') options.bindings[b.name] = locals.plainText(b.name, b.text);
      else if (b.type === 'json') options.bindings[b.name] = JSON.parse(b.json);
      else if (b.type === 'queue')
        options.queueProducers[b.name] = named(b.queue_name, 'cloudflare_queue', 'queue_name').queue_name;
      else if (b.type === 'durable_object_namespace')
        options.durableObjects[b.name] = {
          className: b.class_name,
          ...(b.script_name
            ? { scriptName: named(b.script_name, 'cloudflare_workers_script', 'script_name').script_name }
            : {}),
        };
      else if (b.type === 'hyperdrive') options.hyperdrives[b.name] = locals.databaseUrl;
      else throw new Error(`${script.script_name}: binding type ${(b as { type: string }).type} is not booted yet`);
    }
    const consumed = consumers.filter(
      ([, c]) => named(c.script_name, 'cloudflare_workers_script', 'script_name') === script,
    );
    if (consumed.length)
      options.queueConsumers = Object.fromEntries(
        consumed.map(([, c]) => [
          named(c.queue_id, 'cloudflare_queue', 'queue_id').queue_name,
          {
            maxBatchSize: c.settings.batch_size,
            maxBatchTimeout: 0.05,
            maxRetries: c.settings.max_retries,
            deadLetterQueue: named(c.dead_letter_queue, 'cloudflare_queue', 'queue_name').queue_name,
          },
        ]),
      );
    return options as WorkerOptions;
  });
}

/** A message an event queue delivered: the queue's name and the message body (a CloudEvent). */
export interface EventQueueMessage {
  readonly queue: string;
  readonly body: { id: string; type: string; data: Record<string, unknown> };
}

/**
 * A stand-in for the internal services' HTTP pull consumers (miniflare cannot serve pull consumers): a
 * Worker consuming every queue the stack gives a pull consumer to, with the consumer's batch size,
 * that hands each message to the test. `next` resolves with the first message that matches.
 */
export function eventQueueReader(stack: any): {
  readonly worker: WorkerOptions;
  readonly messages: EventQueueMessage[];
  next(match: (m: EventQueueMessage) => boolean): Promise<EventQueueMessage>;
} {
  const queues = resourcesOf(stack, 'cloudflare_queue');
  const pulled = resourcesOf(stack, 'cloudflare_queue_consumer')
    .filter(([, c]) => c.type === 'http_pull')
    .map(([, c]) => {
      const id = /^\$\{cloudflare_queue\.([^.]+)\.queue_id\}$/.exec(c.queue_id)![1];
      return {
        queueName: queues.find(([name]) => name === id)![1].queue_name as string,
        batchSize: c.settings.batch_size,
      };
    });
  const messages: EventQueueMessage[] = [];
  let waiters: { match: (m: EventQueueMessage) => boolean; resolve: (m: EventQueueMessage) => void }[] = [];
  const take = (message: EventQueueMessage) => {
    messages.push(message);
    waiters = waiters.filter((w) => (w.match(message) ? (w.resolve(message), false) : true));
  };
  const worker = {
    name: 'event-queue-reader',
    modules: true,
    script: `export default {
      async queue(batch, env) {
        const bodies = batch.messages.map((m) => m.body);
        await env.TEST.fetch('http://test/', { method: 'POST', body: JSON.stringify({ queue: batch.queue, bodies }) });
        batch.ackAll();
      },
    };`,
    serviceBindings: {
      TEST: async (request: { json(): Promise<unknown> }) => {
        const { queue, bodies } = (await request.json()) as { queue: string; bodies: EventQueueMessage['body'][] };
        for (const body of bodies) take({ queue, body });
        return new Response(null, { status: 204 }) as never;
      },
    },
    queueConsumers: Object.fromEntries(
      pulled.map((p) => [p.queueName, { maxBatchSize: p.batchSize, maxBatchTimeout: 0.05 }]),
    ),
  } as unknown as WorkerOptions;
  return {
    worker,
    messages,
    next: (match) =>
      new Promise((resolve) => {
        const found = messages.find(match);
        if (found) resolve(found);
        else waiters.push({ match, resolve });
      }),
  };
}
