import pino from 'pino';
import { migrate, openPglite, type Db } from '../../../../pipelines/db';
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
    const { engine } = assembleRuntime({ db, queue, keyring: Keyring.fromBase64([generateKey()]), logger: pino({ level: 'silent' }), env: {} });
    for (const kind of JOB_KINDS) {
      // A payload-less job reaches its handler, which refuses it for its payload: never "no handler".
      const outcome = await engine.handle(job(kind)).then(() => 'handled', (error: Error) => error.message);
      expect({ kind, outcome }).not.toEqual({ kind, outcome: expect.stringMatching(/no handler for job kind/) });
    }
    await expect(engine.handle({ ...job('sync'), kind: 'teleport' as Job['kind'] })).rejects.toThrow(/no handler for job kind "teleport"/);
    await queue.close();
  });
});
