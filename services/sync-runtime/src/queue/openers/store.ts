import type { QueueOpener } from '../open-queue';
import { createStoreBinding } from '../store-binding';

/** The queue in the store's own database (DATA_SYNC_QUEUE=store, the default). */
export const storeQueue: QueueOpener = (_config, db) => createStoreBinding({ db });
