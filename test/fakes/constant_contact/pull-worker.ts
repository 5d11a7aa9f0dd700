/**
 * One sync worker process for the OAuth rotation test: opens the runtime's database, pulls one page
 * of contacts through a connector whose tokens live in the SqlTokenStore, prints the outcome as JSON
 * on stdout and exits. Env: FAKE_URL, DATABASE_URL, SEAL_KEY (base64, 32 bytes).
 */
import { openPostgres } from '@data-sync/pipelines/db';
import { IntegrationError } from '@data-sync/integrations/connector';
import { SqlTokenStore } from '@data-sync/integrations/http/sql-token-store';
import { constantContact, constantContactConfigSchema } from '@data-sync/integrations/marketing/constant_contact';
import { testSealer } from './sealer';

async function main(): Promise<void> {
  const url = process.env.FAKE_URL!;
  const db = openPostgres(process.env.DATABASE_URL!, { max: 2 });
  try {
    const tokenStore = new SqlTokenStore(db, testSealer(Buffer.from(process.env.SEAL_KEY!, 'base64')));
    const connector = constantContact.create(
      constantContactConfigSchema.parse({
        clientId: 'fake-client-id',
        clientSecret: 'fake-client-secret',
        refreshToken: 'fake-refresh-token-0',
        baseUrl: url,
        tokenUrl: `${url}/oauth2/default/v1/token`,
        requestsPerSecond: 1000,
      }),
      { tokenStore },
    );
    const page = await connector.pull('contacts', null);
    process.stdout.write(JSON.stringify({ ok: true, records: page.records.length }));
  } catch (error) {
    process.stdout.write(
      JSON.stringify({
        ok: false,
        kind: error instanceof IntegrationError ? error.kind : 'crash',
        message: (error as Error).message,
      }),
    );
  } finally {
    await db.close();
  }
}

void main();
