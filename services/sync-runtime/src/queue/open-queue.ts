import type { Db } from '@data-sync/pipelines/db';
import { ConfigError, type RuntimeConfig } from '../config';
import type { QueueBinding } from './binding';

export type QueueKind = RuntimeConfig['queue'];
/**
 * Opens one kind of queue binding from the configuration, over the store's database; an opener may load
 * its SDK only when chosen (a bundle that carries two bindings evaluates one).
 */
export type QueueOpener = (config: RuntimeConfig, db: Db) => QueueBinding | Promise<QueueBinding>;
/**
 * The bindings an entry point can open: each bundle lists only the ones its deployment selects, so it
 * carries no other binding's SDK (queue/openers holds one per kind).
 */
export type QueueOpeners = Readonly<Partial<Record<QueueKind, QueueOpener>>>;

/** The queue binding the configuration chooses (DATA_SYNC_QUEUE), if this entry point carries it. */
export async function openQueue(config: RuntimeConfig, db: Db, openers: QueueOpeners): Promise<QueueBinding> {
  const open = openers[config.queue];
  if (!open)
    throw new ConfigError(
      'DATA_SYNC_QUEUE',
      `is "${config.queue}", which this bundle cannot open (it has ${Object.keys(openers).join(', ')}); ` +
        `run the bundle of the cloud that provides it (dist/runtime/<cloud>.js) or main.js for store and redis`,
    );
  return open(config, db);
}
