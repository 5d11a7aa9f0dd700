/**
 * The contract every connector passes against its local fake: complete and resumable pulls,
 * bounded retries, 429 back-off, auth failures surfaced as errors, idempotent pushes and webhook
 * verification. A connector's test file calls `connectorContract({...})` once.
 */
import { sweepDeleted } from '../reconcile';
import { IntegrationError, WebhookRejected, type ConnectorContext, type ConnectorModule, type VendorRecord, type WebhookRequest } from '../connector';

/** Switches and views every fake under test/fakes/ offers. */
export interface Fake {
  readonly url: string;
  close(): Promise<void>;
  /** The next `times` API calls (auth/token endpoints included) answer `status` with `headers`. */
  failNext(status: number, times?: number, headers?: Record<string, string>): void;
  /** Every credential stops working (token revoked, key deleted) until restoreAuth(). */
  revokeAuth(): void;
  restoreAuth(): void;
  /** API calls received so far. */
  requestCount(): number;
  /** Vendor ids of the live records of `object`. */
  ids(object: string): string[];
  /**
   * Requests the fake received that break the vendor's machine-readable API description, where it
   * checks against one (absent: the vendor publishes none, or it is not in vendor-specs).
   */
  violations?(): string[];
  /** Deletes one record at the vendor as a user would (archive, recycle bin, status deleted: the vendor's own delete). */
  remove(object: string, id: string): void;
  /** Changes one record (a new modification time) as a user editing it at the vendor would. */
  touch(object: string, id: string): void;
  /** A stable view of the stored records of `object`, for comparing states. */
  snapshot(object: string): unknown;
}

export interface FakeOptions {
  /** Records generated per object. */
  readonly seed?: Record<string, number>;
  /** Page size the fake uses where the vendor lets the server choose it. */
  readonly pageSize?: number;
}

export interface ConnectorContractSpec<C> {
  readonly name: string;
  readonly module: ConnectorModule<C>;
  /** Object pulled and pushed by the suite. */
  readonly object: string;
  startFake(options: FakeOptions): Promise<Fake>;
  /** A valid config pointing at the fake, paging `pageSize` records at a time where the vendor allows it. */
  configFor(fakeUrl: string, pageSize: number): C;
  /** Vendor id of a pulled record. */
  recordId(record: VendorRecord): string;
  /**
   * `count` records to push that do not exist at the vendor yet, upserted by their external key: the
   * same `count` always gives the same keys, and `variant` changes their other field values.
   */
  pushRecords(count: number, variant: number): VendorRecord[];
  /**
   * How deletes are detected: 'pull' (the vendor's deleted-records API, through PullPage.deletedIds)
   * or 'sweep' (the vendor reports none: Connector.listIds and sweepDeleted). Default 'pull'.
   */
  readonly deletes?: 'pull' | 'sweep';
  /** Headers the fake sends with the 429 it is told to answer, and the wait they ask for. */
  readonly tooManyRequests?: { readonly headers: Record<string, string>; readonly waitMs: number };
  readonly webhook: {
    /** A valid delivery body for `config`, unique per `n`. */
    body(config: C, n: number): Buffer;
    /** The request the vendor would send, signed with `config`'s secret at `now`. */
    sign(config: C, body: Buffer, now: number): WebhookRequest;
    /** `config` with a different secret (or account) than the one the receiver expects. */
    forgedConfig(config: C): C;
    /**
     * 'timestamp': a delivery older than the vendor's window is rejected.
     * 'event-id': the vendor retries deliveries on purpose (and signs nothing time-bound), so a
     * repeat verifies and carries the same event ids, on which the receiver deduplicates.
     */
    readonly replay: 'timestamp' | 'event-id';
    /** Alters a signed request as an attacker would; the default changes the body's bytes. */
    tamper?(request: WebhookRequest): WebhookRequest;
  };
}

const PAGE = 7;
const SEEDED = 23;

function tamperBody(request: WebhookRequest): WebhookRequest {
  const text = request.rawBody.toString('utf8');
  const index = text.search(/[0-9a-zA-Z]/);
  const replaced = text[index] === 'x' ? 'y' : 'x';
  return { ...request, rawBody: Buffer.from(text.slice(0, index) + replaced + text.slice(index + 1)) };
}

export function connectorContract<C>(spec: ConnectorContractSpec<C>): void {
  describe(`${spec.name} connector contract`, () => {
    let fake: Fake;
    let config: C;
    const sleeps: number[] = [];
    const context: ConnectorContext = { sleep: async (ms) => void sleeps.push(ms) };

    beforeEach(async () => {
      sleeps.length = 0;
      fake = await spec.startFake({ seed: { [spec.object]: SEEDED }, pageSize: PAGE });
      config = spec.module.configSchema.parse(spec.configFor(fake.url, PAGE));
    });
    afterEach(async () => {
      const violations = fake.violations?.() ?? [];
      await fake.close();
      // Whatever the test did, the connector must only have sent requests the vendor documents.
      expect(violations).toEqual([]);
    });

    async function pullAll(cursor: string | null, maxPages = 100): Promise<{ ids: string[]; cursor: string | null; pages: number }> {
      const connector = spec.module.create(config, context);
      const ids: string[] = [];
      let pages = 0;
      for (;;) {
        const page = await connector.pull(spec.object, cursor);
        pages++;
        ids.push(...page.records.map(spec.recordId));
        cursor = page.cursor;
        if (page.done || pages >= maxPages) return { ids, cursor, pages };
      }
    }

    test('test() reports a working connection', async () => {
      const result = await spec.module.create(config, context).test();
      expect(result).toMatchObject({ ok: true });
      expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    });

    test('pulls every record to the end across several pages, each once', async () => {
      const { ids, pages } = await pullAll(null);
      expect(pages).toBeGreaterThan(1);
      expect(new Set(ids).size).toBe(ids.length);
      expect([...ids].sort()).toEqual([...fake.ids(spec.object)].sort());
    });

    test('resumes from the stored cursor after a crash without gaps or repeats', async () => {
      const first = await pullAll(null, 1);
      // A new connector instance stands for the restarted worker; only the cursor survives.
      const rest = await pullAll(first.cursor);
      const all = [...first.ids, ...rest.ids];
      expect(new Set(all).size).toBe(all.length);
      expect([...all].sort()).toEqual([...fake.ids(spec.object)].sort());
    });

    test('an incremental pull from the final cursor returns only what changed since', async () => {
      const full = await pullAll(null);
      const changed = fake.ids(spec.object)[3];
      fake.touch(spec.object, changed);
      const next = await pullAll(full.cursor);
      expect(next.ids).toEqual([changed]);
      const again = await pullAll(next.cursor);
      expect(again.ids).toEqual([]);
    });

    test('a record changed between two pages of a run is pulled at its new version, once per version; every other record once', async () => {
      const connector = spec.module.create(config, context);
      const first = await connector.pull(spec.object, null);
      expect(first.done).toBe(false);
      const emitted = new Set(first.records.map(spec.recordId));
      const pending = fake.ids(spec.object).find((id) => !emitted.has(id));
      expect(pending).toBeDefined();
      fake.touch(spec.object, pending!);
      const rest = await pullAll(first.cursor);
      // The next incremental pull brings at most its new version (if the run read an older snapshot).
      const after = await pullAll(rest.cursor);
      const all = [...emitted, ...rest.ids, ...after.ids];
      // Once, or twice where the vendor pages a snapshot (Salesforce query locators): the old
      // version from the snapshot, then the new one; never more, never lost.
      const times = all.filter((id) => id === pending).length;
      expect(times).toBeGreaterThanOrEqual(1);
      expect(times).toBeLessThanOrEqual(2);
      expect((await pullAll(after.cursor)).ids).toEqual([]);
      const others = all.filter((id) => id !== pending);
      expect(new Set(others).size).toBe(others.length);
      expect([...new Set(all)].sort()).toEqual([...fake.ids(spec.object)].sort());
    });

    test('a record deleted at the vendor is detected as deleted, once', async () => {
      const full = await pullAll(null);
      if (spec.deletes === 'sweep') {
        const [gone] = fake.ids(spec.object);
        fake.remove(spec.object, gone);
        const connector = spec.module.create(config, context);
        expect(await sweepDeleted(spec.name, connector, spec.object, full.ids)).toEqual([gone]);
        expect(await sweepDeleted(spec.name, connector, spec.object, full.ids.filter((id) => id !== gone))).toEqual([]);
        return;
      }
      const [victim] = fake.ids(spec.object);
      fake.remove(spec.object, victim);
      const connector = spec.module.create(config, context);
      const deleted: string[] = [];
      let cursor = full.cursor;
      for (let round = 0; round < 2; round++) {
        for (;;) {
          const page = await connector.pull(spec.object, cursor);
          deleted.push(...page.deletedIds);
          expect(page.records.map(spec.recordId)).not.toContain(victim);
          cursor = page.cursor;
          if (page.done) break;
        }
      }
      expect(deleted).toEqual([victim]);
    });

    test('backs off on 429 for as long as the vendor asks, then continues', async () => {
      const tooMany = spec.tooManyRequests ?? { headers: { 'Retry-After': '2' }, waitMs: 2000 };
      fake.failNext(429, 1, tooMany.headers);
      const { ids } = await pullAll(null);
      expect(ids).toHaveLength(SEEDED);
      expect(Math.max(...sleeps)).toBeGreaterThanOrEqual(tooMany.waitMs);
    });

    test('retries a transient 5xx and completes', async () => {
      fake.failNext(503, 2);
      const { ids } = await pullAll(null);
      expect(ids).toHaveLength(SEEDED);
      expect(sleeps.length).toBeGreaterThanOrEqual(2);
    });

    test('gives up on a persistent 5xx after a bounded number of attempts', async () => {
      fake.failNext(500, 1000);
      const before = fake.requestCount();
      const error = await spec.module.create(config, context).pull(spec.object, null).catch((e) => e);
      expect(error).toBeInstanceOf(IntegrationError);
      expect(error.kind).toBe('unavailable');
      const attempts = fake.requestCount() - before;
      expect(attempts).toBeGreaterThan(1);
      expect(attempts).toBeLessThanOrEqual(10);
    });

    test('an auth failure surfaces as IntegrationError kind auth, not a crash or an empty sync', async () => {
      fake.revokeAuth();
      const connector = spec.module.create(config, context);
      const error = await connector.pull(spec.object, null).catch((e) => e);
      expect(error).toBeInstanceOf(IntegrationError);
      expect(error.kind).toBe('auth');
      const check = await connector.test();
      expect(check.ok).toBe(false);
      expect(check.message).toMatch(/auth|unauthori|invalid|expired|revoked|denied|forbidden|401|403/i);
      await expect(connector.push(spec.object, spec.pushRecords(1, 0))).rejects.toMatchObject({ kind: 'auth' });
    });

    test('push upserts are idempotent: pushing the same records twice leaves the same state', async () => {
      const connector = spec.module.create(config, context);
      const records = spec.pushRecords(5, 1);
      const before = fake.ids(spec.object).length;
      const first = await connector.push(spec.object, records);
      expect(first.failed).toEqual([]);
      expect(first.upserted).toBe(5);
      const afterFirst = fake.snapshot(spec.object);
      expect(fake.ids(spec.object)).toHaveLength(before + 5);
      const second = await connector.push(spec.object, records);
      expect(second.failed).toEqual([]);
      expect(fake.snapshot(spec.object)).toEqual(afterFirst);
      expect(fake.ids(spec.object)).toHaveLength(before + 5);
    });

    test('push updates an existing record in place by its external key', async () => {
      const connector = spec.module.create(config, context);
      await connector.push(spec.object, spec.pushRecords(2, 1));
      const count = fake.ids(spec.object).length;
      const snapshot = JSON.stringify(fake.snapshot(spec.object));
      await connector.push(spec.object, spec.pushRecords(2, 2));
      expect(fake.ids(spec.object)).toHaveLength(count);
      expect(JSON.stringify(fake.snapshot(spec.object))).not.toBe(snapshot);
    });

    test('delete removes records by vendor id', async () => {
      const connector = spec.module.create(config, context);
      const [victim] = fake.ids(spec.object);
      await connector.delete(spec.object, [victim]);
      expect(fake.ids(spec.object)).not.toContain(victim);
    });

    describe('webhook verification', () => {
      const now = Date.parse('2026-03-01T12:00:00Z');

      test('accepts a valid delivery and returns its events with ids', () => {
        const request = spec.webhook.sign(config, spec.webhook.body(config, 1), now);
        const result = spec.module.verifyWebhook(config, request);
        expect(result.events.length).toBeGreaterThan(0);
        for (const event of result.events) expect(event.id).toEqual(expect.any(String));
      });

      test('rejects a forged delivery', () => {
        // The forger builds and signs the whole delivery with the secret they guessed.
        const forged = spec.webhook.forgedConfig(config);
        const request = spec.webhook.sign(forged, spec.webhook.body(forged, 2), now);
        expect(() => spec.module.verifyWebhook(config, request)).toThrow(WebhookRejected);
      });

      test('rejects a tampered delivery', () => {
        const request = spec.webhook.sign(config, spec.webhook.body(config, 3), now);
        const tampered = (spec.webhook.tamper ?? tamperBody)(request);
        expect(tampered.rawBody.equals(request.rawBody) && tampered.url === request.url).toBe(false);
        expect(() => spec.module.verifyWebhook(config, tampered)).toThrow(WebhookRejected);
      });

      test('a replayed delivery is rejected or carries the same dedupe ids', () => {
        const request = spec.webhook.sign(config, spec.webhook.body(config, 4), now);
        if (spec.webhook.replay === 'timestamp') {
          expect(spec.module.verifyWebhook(config, request).events.length).toBeGreaterThan(0);
          expect(() => spec.module.verifyWebhook(config, { ...request, now: now + 10 * 60_000 })).toThrow(WebhookRejected);
        } else {
          const first = spec.module.verifyWebhook(config, request).events.map((e) => e.id);
          expect(first.length).toBeGreaterThan(0);
          expect(new Set(first).size).toBe(first.length);
          const repeat = spec.module.verifyWebhook(config, { ...request, now: now + 60_000 }).events.map((e) => e.id);
          expect(repeat).toEqual(first);
        }
      });

      test('rejects a malformed body with WebhookRejected, not a crash', () => {
        const request = spec.webhook.sign(config, Buffer.from('{not json <xml'), now);
        expect(() => spec.module.verifyWebhook(config, request)).toThrow(WebhookRejected);
      });
    });
  });
}
