import { TEST_DATABASE_URL, describeWithService } from '@data-sync/test-services';
import { openPostgres } from './postgres';

describeWithService('a held connection the server ends', TEST_DATABASE_URL, () => {
  test('fails the transaction holding it, not the process; the pool then serves new connections', async () => {
    const db = openPostgres(TEST_DATABASE_URL, { max: 2 });
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const outcome = await db
        .transaction(async (tx) => {
          const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
          // What a server restart or failover does to every connection: the backend is told to terminate.
          await db.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
          // The server's notice reaches the client while the transaction's holder is between queries.
          await new Promise((resolve) => setTimeout(resolve, 200));
          await tx.query('SELECT 1');
        })
        .then(
          () => 'committed',
          (error: Error) => error.message,
        );
      expect(outcome).toMatch(/terminat|Connection terminated|not queryable/i);
      expect(uncaught).toEqual([]);
      const { rows } = await db.query<{ one: number }>('SELECT 1 AS one');
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      process.off('uncaughtException', onUncaught);
      await db.close();
    }
  });
});
