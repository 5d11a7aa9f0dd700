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
