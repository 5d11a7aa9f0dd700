/**
 * Two end-to-end sections, both through the real runtime (engine, store queue on this machine's
 * PostgreSQL in a private schema, with the local-vendor override for the fakes).
 *
 * 1. Pipeline: Lead Ads leads seeded at the Meta Graph fake are pulled by the engine, run through the
 *    pipeline (map, validate, clean, deduplicate, upsert into contacts) and pushed to the Mailchimp fake's
 *    newsletter audience, until the audience holds every contact. The baseline, in the same run, moves
 *    the same leads with the same two connectors and nothing between them (pull every page, push every
 *    record: vendor I/O only), so the ratio is what the engine, pipeline and store cost. Requests made
 *    are printed next to the baseline's.
 * 2. Vendor syncs: each CRM and marketing fake (support/vendor-benches.ts) is seeded with records and
 *    held to the vendor's documented rate limit, then synced in full and, after 1% of the records
 *    changed, incrementally. Each sync prints its wall time next to the least time the rate limit allows
 *    for the minimum requests (pages at the documented maximum page size, plus the token grant; target
 *    >= 90%), or records/s where no limit binds, and the requests the fake received next to that minimum
 *    (target <= 1.05x; the incremental minimum includes the look-back window's re-reads). The store must
 *    hold every seeded record: a mismatch or a failed run exits 1, a missed target is only printed.
 *
 *   npm run bench -- sync-e2e
 *     BENCH_RECORDS=<n>          leads of section 1 (default 10000)
 *     BENCH_VENDOR_RECORDS=<n>   records seeded per vendor in section 2 (default 100000)
 *     BENCH_VENDORS=a,b          section 2's vendors (default all: salesforce, hubspot, dynamics, zoho,
 *                                pipedrive, mailchimp, klaviyo, constant_contact)
 *     BENCH_DATABASE_URL, else TEST_DATABASE_URL
 *     PROFILE_DIR=<dir>          writes a V8 CPU profile of section 1's end-to-end run there.
 */
import { Session } from 'inspector';
import * as fs from 'fs';
import * as path from 'path';
import pino from 'pino';
import { CONNECTORS } from '@data-sync/integrations/registry';
import { migrate, openPostgres, type Db } from '@data-sync/pipelines/db';
import { startFakeMeta } from '@data-sync/vendor-fakes/meta';
import { startFakeMailchimp, type MailchimpFake } from '@data-sync/vendor-fakes/mailchimp';
import { assembleRuntime, type AssembledRuntime } from '@data-sync/sync-runtime/src/runtime/assemble';
import { createStoreBinding } from '@data-sync/sync-runtime/src/queue/store-binding';
import { Keyring, generateKey } from '@data-sync/sync-runtime/src/security/crypto';
import { MIGRATIONS } from '@data-sync/sync-runtime/src/store/migrations';
import { LOOK_BACK_MS } from '@data-sync/integrations/look-back';
import type { QueueBinding } from '@data-sync/sync-runtime/src/queue/binding';
import { VENDOR_BENCHES, rateBoundSeconds, type VendorBench } from './support/vendor-benches';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 10_000);
const VENDOR_RECORDS = Number(process.env.BENCH_VENDOR_RECORDS ?? 100_000);
const VENDORS = process.env.BENCH_VENDORS?.split(',').map((v) => v.trim()) ?? VENDOR_BENCHES.map((v) => v.system);
/** Share of the seeded records changed between the full and the incremental sync. */
const CHANGED_SHARE = 0.01;
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

/**
 * Handles every job until none is left (jobs waiting out a 429 included; probes aside) and `done`, when
 * given, holds.
 */
async function drain(
  db: Db,
  queue: QueueBinding,
  engine: AssembledRuntime['engine'],
  done: () => Promise<boolean> = async () => true,
): Promise<void> {
  for (;;) {
    const jobs = await queue.claim(10, 60_000);
    for (const job of jobs) {
      await engine.handle(job);
      await queue.ack(job);
    }
    if (jobs.length) continue;
    const waiting = await db.query(`SELECT 1 FROM jobs WHERE kind <> 'probe' LIMIT 1`);
    if (waiting.rows.length === 0 && (await done())) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
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
      let contacts = 0;
      await drain(db, queue, runtime.engine, async () => {
        contacts = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM contacts')).rows[0].n;
        return members(f.mailchimp) >= contacts;
      });
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

interface SyncResult {
  readonly kind: 'full' | 'incremental';
  readonly seconds: number;
  readonly requests: number;
  readonly minRequests: number;
  readonly boundSeconds: number;
  /** Records the run had to bring: all of them in full, the changed ones incrementally. */
  readonly expected: number;
  readonly accepted: number;
  readonly stored: number;
  readonly error: string | null;
}

/** A full, then (after CHANGED_SHARE of the records changed) an incremental sync of one vendor's fake. */
async function vendorSyncs(bench: VendorBench): Promise<SyncResult[]> {
  const { fake, config } = await bench.start(VENDOR_RECORDS);
  try {
    return await withSchema(async (db) => {
      await migrate(db, MIGRATIONS);
      const queue = createStoreBinding({ db, queue: `bench-e2e-${process.pid}-${bench.system}` });
      const runtime = assembleRuntime({
        db,
        queue,
        keyring: Keyring.fromBase64([generateKey()]),
        logger: pino({ level: 'warn' }),
        allowLocalVendors: true,
      });
      await runtime.integrations.create({
        enabled: true,
        syncInterval: '1h',
        webhookAllowlist: [],
        name: bench.system,
        system: bench.system,
        objects: [bench.object],
        pushObjects: [],
        config,
      });
      const stored = async () =>
        (
          await db.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM synced_records WHERE integration = $1 AND NOT deleted',
            [bench.system],
          )
        ).rows[0].n;
      const sync = async (full: boolean, minRequests: number, expected: number): Promise<SyncResult> => {
        const before = fake.requestCount();
        const start = performance.now();
        const { runId } = await runtime.engine.trigger(bench.system, { actor: 'bench', full });
        await drain(db, queue, runtime.engine);
        const seconds = (performance.now() - start) / 1000;
        const run = (
          await db.query<{ status: string; accepted: number; error: string | null }>(
            'SELECT status, accepted, error FROM sync_runs WHERE id = $1',
            [runId],
          )
        ).rows[0];
        return {
          kind: full ? 'full' : 'incremental',
          seconds,
          requests: fake.requestCount() - before,
          minRequests,
          boundSeconds: rateBoundSeconds(minRequests, bench.limits),
          expected,
          accepted: run.accepted,
          stored: await stored(),
          error: run.status === 'succeeded' ? null : (run.error ?? run.status),
        };
      };
      const pages = (records: number, size: number) => Math.max(1, Math.ceil(records / size)) + bench.deleteRequests;
      const fullStart = Date.now();
      const full = await sync(true, bench.authRequests + pages(VENDOR_RECORDS, bench.fullPage), VENDOR_RECORDS);
      // The incremental pull re-reads the look-back window behind its watermark: those records are part
      // of its minimum, as are the changed ones (the oldest, outside the window).
      const windowIds = (
        await db.query<{ external_id: string }>(
          `WITH t AS (SELECT external_id, (data #>> $2::text[])::timestamptz AS at FROM synced_records WHERE integration = $1)
           SELECT external_id FROM t WHERE at >= coalesce($3, (SELECT max(at) FROM t)) - make_interval(secs => $4)`,
          [
            bench.system,
            bench.modifiedAt,
            bench.watermark === 'pull-start' ? new Date(fullStart).toISOString() : null,
            LOOK_BACK_MS / 1000,
          ],
        )
      ).rows.map((r) => r.external_id);
      const changedIds = fake.ids(bench.object).slice(0, Math.ceil(VENDOR_RECORDS * CHANGED_SHARE));
      for (const id of changedIds) fake.touch(bench.object, id);
      const reads = new Set([...windowIds, ...changedIds]).size;
      // The token grant of the full sync is still valid: the incremental one needs none.
      const incremental = await sync(false, pages(reads, bench.incrementalPage), changedIds.length);
      return [full, incremental];
    });
  } finally {
    await fake.close();
  }
}

async function vendorSection(): Promise<boolean> {
  const unknown = VENDORS.filter((v) => !VENDOR_BENCHES.some((b) => b.system === v));
  if (unknown.length) throw new Error(`BENCH_VENDORS: unknown ${unknown.join(', ')}`);
  console.log(
    `sync-e2e vendors: ${VENDOR_RECORDS.toLocaleString('en-US')} records each, full then incremental (${CHANGED_SHARE * 100}% changed)`,
  );
  const n = (x: number) => x.toLocaleString('en-US');
  let ok = true;
  for (const bench of VENDOR_BENCHES.filter((b) => VENDORS.includes(b.system))) {
    console.log(`  ${bench.system} ${bench.object}: ${bench.source}`);
    const syncs = await vendorSyncs(bench);
    for (const s of syncs) {
      const time =
        s.boundSeconds > 0
          ? `bound ${s.boundSeconds.toFixed(1)} s (bound/wall ${((s.boundSeconds / s.seconds) * 100).toFixed(0)}%${s.boundSeconds / s.seconds >= 0.9 ? '' : ', target 90%'})`
          : `not rate bound, ${n(Math.round(s.expected / s.seconds))} records/s`;
      const factor = s.requests / s.minRequests;
      // Every seeded record stored, and each run accepting exactly the records it had to bring.
      const problems = [
        ...(s.stored === VENDOR_RECORDS ? [] : [`store holds ${n(s.stored)} of ${n(VENDOR_RECORDS)}`]),
        ...(s.accepted === s.expected ? [] : [`accepted ${n(s.accepted)}, expected ${n(s.expected)}`]),
        ...(s.error ? [`run failed: ${s.error}`] : []),
      ];
      console.log(
        `    ${s.kind.padEnd(11)} wall ${s.seconds.toFixed(1).padStart(6)} s  ${time}  requests ${n(s.requests)} / min ${n(s.minRequests)} (${factor.toFixed(2)}x${factor <= 1.05 ? '' : ', target 1.05x'})  accepted ${n(s.accepted)}  stored ${n(s.stored)}${problems.length ? `  ERROR: ${problems.join('; ')}` : ''}`,
      );
      if (problems.length) ok = false;
    }
  }
  return ok;
}

async function main() {
  if (!Number.isInteger(RECORDS) || RECORDS < 1) throw new Error('BENCH_RECORDS must be a positive integer');
  if (!Number.isInteger(VENDOR_RECORDS) || VENDOR_RECORDS < 1)
    throw new Error('BENCH_VENDOR_RECORDS must be a positive integer');
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
  if (!(await vendorSection())) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
