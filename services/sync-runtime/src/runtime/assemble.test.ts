import pino from 'pino';
import { migrate, openPglite, type Db } from '@data-sync/pipelines/db';
import { JOB_KINDS, type Job } from '../queue/binding';
import { createStoreBinding } from '../queue/store-binding';
import { Keyring, generateKey } from '../security/crypto';
import { MIGRATIONS } from '../store/migrations';
import { assembleRuntime } from './assemble';

let db: Db;

beforeAll(async () => {
  db = await openPglite();
  await migrate(db, MIGRATIONS);
});
afterAll(async () => db.close());

const job = (kind: Job['kind']): Job => ({ id: `j-${kind}`, kind, payload: null, attempts: 1, enqueuedAt: new Date() });

describe('assembleRuntime', () => {
  test('the engine every entry point gets has a handler for every job kind of the queue contract', async () => {
    const queue = createStoreBinding({ db, queue: `assemble-${process.pid}` });
    const { engine } = assembleRuntime({
      db,
      queue,
      keyring: Keyring.fromBase64([generateKey()]),
      logger: pino({ level: 'silent' }),
      env: {},
    });
    expect(engine.kinds().sort()).toEqual([...JOB_KINDS].sort());
    // A kind outside the contract is refused by the contract before any handler is looked up.
    await expect(engine.handle({ ...job('sync'), kind: 'teleport' as Job['kind'] })).rejects.toThrow(
      /kind: Invalid discriminator value/,
    );
    await queue.close();
  });
});
