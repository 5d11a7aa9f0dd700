/**
 * End-to-end sync throughput: Lead Ads leads seeded at the Meta Graph fake are pulled by the real
 * engine (store queue on this machine's PostgreSQL), run through the pipeline (map, validate, clean,
 * deduplicate, upsert into contacts) and pushed to the Mailchimp fake's newsletter audience, until the
 * audience holds every contact. The baseline, in the same run, moves the same leads with the same two
 * connectors and nothing between them (pull every page, push every record: vendor I/O only), so the
 * ratio is what the engine, pipeline and store cost. Requests made are printed next to the baseline's.
 *
 *   npm run bench -- sync-e2e          (BENCH_RECORDS=<n>, default 10000; BENCH_DATABASE_URL, else TEST_DATABASE_URL)
 *   PROFILE_DIR=<dir> writes a V8 CPU profile of the end-to-end run there.
 */
import { Session } from 'inspector';
import * as fs from 'fs';
import * as path from 'path';
import pino from 'pino';
import { CONNECTORS } from '@data-sync/integrations/registry';
import { migrate, openPostgres, type Db } from '@data-sync/pipelines/db';
import { startFakeMeta } from '@data-sync/vendor-fakes/meta';
import { startFakeMailchimp, type MailchimpFake } from '@data-sync/vendor-fakes/mailchimp';
import { assembleRuntime } from '@data-sync/sync-runtime/src/runtime/assemble';
import { createStoreBinding } from '@data-sync/sync-runtime/src/queue/store-binding';
import { Keyring, generateKey } from '@data-sync/sync-runtime/src/security/crypto';
import { MIGRATIONS } from '@data-sync/sync-runtime/src/store/migrations';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 10_000);
const URL_ =
  process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PAGE = 500;

const members = (fake: MailchimpFake) =>
  [...fake.state.lists.values()].find((l) => l.name === 'newsletter')?.members.size ?? 0;

async function fakes() {
  const [meta, mailchimp] = await Promise.all([
    startFakeMeta({ seed: { leads: RECORDS }, platform: 'fb', forms: 1, pageSize: PAGE }),
    startFakeMailchimp({ seed: { newsletter: 0 } }),
  ]);
  const c = meta.credentials;
  const facebook = {
    accessToken: c.accessToken,
    appSecret: c.appSecret,
    pageId: c.pageId,
    audienceId: c.audienceId,
    baseUrl: meta.url,
    pageSize: PAGE,
  };
  // The fake finishes a batch at once: polling at Mailchimp's pace (2 s) would measure the poll interval.
  const mailchimpConfig = { apiKey: mailchimp.apiKey, baseUrl: mailchimp.url, batchPollMs: 20 };
  return { meta, mailchimp, facebook, mailchimpConfig };
}

/** Vendor I/O only: every page pulled, every record pushed as it is, no store in between. */
async function baseline(): Promise<{ seconds: number; requests: number; delivered: number }> {
  const f = await fakes();
  try {
    const source = CONNECTORS.facebook.create(f.facebook, {});
    const target = CONNECTORS.mailchimp.create(f.mailchimpConfig, {});
    const start = performance.now();
    let cursor: string | null = null;
    for (;;) {
      const page = await source.pull('leads', cursor);
      const records = page.records.map((r) => {
        const a = (r as { answers: Record<string, string> }).answers;
        return { email_address: a.email, merge_fields: { FNAME: a.first_name ?? '', LNAME: a.last_name ?? '' } };
      });
      if (records.length) await target.push('newsletter', records);
      cursor = page.cursor;
      if (page.done) break;
    }
    const seconds = (performance.now() - start) / 1000;
    return { seconds, requests: f.meta.requestCount() + f.mailchimp.requestCount(), delivered: members(f.mailchimp) };
  } finally {
    await Promise.all([f.meta.close(), f.mailchimp.close()]);
  }
}

async function withSchema<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const schema = `bench_e2e_${process.pid}`;
  const admin = openPostgres(URL_, { max: 1 });
  await admin.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
  const url = new URL(URL_);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const db = openPostgres(url.toString(), { max: 10 });
  try {
    return await fn(db);
  } finally {
    await db.close();
    await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
    await admin.close();
  }
}

/** The runtime: trigger, then the worker loop until the audience holds every accepted contact. */
async function endToEnd() {
  const f = await fakes();
  try {
    return await withSchema(async (db) => {
      await migrate(db, MIGRATIONS);
      const queue = createStoreBinding({ db, queue: `bench-e2e-${process.pid}` });
      const runtime = assembleRuntime({
        db,
        queue,
        keyring: Keyring.fromBase64([generateKey()]),
        logger: pino({ level: 'warn' }),
        pushDebounceMs: 0,
      });
      const common = { enabled: true, syncInterval: '1h', webhookAllowlist: [] };
      await runtime.integrations.create({
        ...common,
        name: 'facebook',
        system: 'facebook',
        objects: ['leads'],
        pushObjects: [],
        config: f.facebook,
      });
      await runtime.integrations.create({
        ...common,
        name: 'mailchimp',
        system: 'mailchimp',
        objects: [],
        pushObjects: ['newsletter'],
        config: f.mailchimpConfig,
      });
      const profile = process.env.PROFILE_DIR ? new Session() : undefined;
      if (profile) {
        profile.connect();
        await new Promise((resolve) => profile.post('Profiler.enable', () => profile.post('Profiler.start', resolve)));
      }
      const start = performance.now();
      await runtime.engine.trigger('facebook', { actor: 'bench', full: true });
      let contacts: number;
      for (;;) {
        const jobs = await queue.claim(10, 60_000);
        for (const job of jobs) {
          await runtime.engine.handle(job);
          await queue.ack(job);
        }
        if (jobs.length) continue;
        contacts = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM contacts')).rows[0].n;
        const waiting = await db.query(`SELECT 1 FROM jobs WHERE kind <> 'probe' LIMIT 1`);
        if (waiting.rows.length === 0 && members(f.mailchimp) >= contacts) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const seconds = (performance.now() - start) / 1000;
      if (profile) {
        await new Promise<void>((resolve) =>
          profile.post('Profiler.stop', (_error, result) => {
            const file = path.join(process.env.PROFILE_DIR!, `sync-e2e-${process.pid}.cpuprofile`);
            fs.mkdirSync(process.env.PROFILE_DIR!, { recursive: true });
            fs.writeFileSync(file, JSON.stringify(result.profile));
            console.log(`CPU profile: ${file}`);
            resolve();
          }),
        );
      }
      return {
        seconds,
        contacts,
        delivered: members(f.mailchimp),
        requests: f.meta.requestCount() + f.mailchimp.requestCount(),
      };
    });
  } finally {
    await Promise.all([f.meta.close(), f.mailchimp.close()]);
  }
}

async function main() {
  if (!Number.isInteger(RECORDS) || RECORDS < 1) throw new Error('BENCH_RECORDS must be a positive integer');
  console.log(`sync-e2e: ${RECORDS.toLocaleString('en-US')} Lead Ads leads, Meta fake -> pipeline -> Mailchimp fake`);
  const base = await baseline();
  const e2e = await endToEnd();
  const rate = (n: number, s: number) => Math.round(n / s).toLocaleString('en-US');
  console.log(
    `  baseline (connectors only): ${rate(base.delivered, base.seconds).padStart(7)} records/s  ${base.seconds.toFixed(2)} s  ${base.requests} requests  ${base.delivered} delivered`,
  );
  console.log(
    `  end to end (engine, pipeline, store, push): ${rate(e2e.delivered, e2e.seconds).padStart(7)} records/s  ${e2e.seconds.toFixed(2)} s  ${e2e.requests} requests  ${e2e.contacts} contacts, ${e2e.delivered} delivered`,
  );
  console.log(
    `  ratio end-to-end/baseline: ${((e2e.delivered / e2e.seconds / (base.delivered / base.seconds)) * 100).toFixed(0)}% of the baseline's speed; requests ${(e2e.requests / base.requests).toFixed(2)}x`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
