/**
 * The contract every connector passes against its local fake: complete and resumable pulls,
 * bounded retries, 429 back-off, auth failures surfaced as errors, idempotent pushes and webhook
 * verification. A connector's test file calls `connectorContract({...})` once.
 */
import { sweepDeleted } from '../reconcile';
import {
  IntegrationError,
  WebhookRejected,
  type ConnectorContext,
  type ConnectorModule,
  type VendorRecord,
  type WebhookRequest,
} from '../connector';

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
  /** Deletes one record at the vendor as a user would (archive, recycle bin, status deleted: the vendor's own delete); absent where records cannot be deleted (event stores). */
  remove?(object: string, id: string): void;
  /** Changes one record (a new modification time) as a user editing it at the vendor would. */
  touch(object: string, id: string): void;
  /**
   * Changes one record as touch() does, but dated `lagMs` before the newest change the fake holds: a change
   * the vendor exposes late (a long transaction committing after later ones, a lagging search index or
   * replica). Required of every fake whose records change (the suite checks it).
   */
  touchLate?(object: string, id: string, lagMs: number): void;
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
  /** Object push writes to, when the vendor takes pushes into another object than it is pulled from (default `object`). */
  readonly pushObject?: string;
  /**
   * How the vendor stores a pushed record whose key it already holds: 'upsert' (the default) updates it
   * in place; 'first-wins' keeps the first and drops the repeat (Amplitude's insert_id dedupe);
   * 'append' has no key at all (GA4's Measurement Protocol), so a repeat is counted again.
   */
  readonly pushSemantics?: 'upsert' | 'first-wins' | 'append';
  /** False when the vendor accepts pushes whatever the credential (GA4's Measurement Protocol answers 2xx to anything): push then only must not crash. */
  readonly pushAuthErrors?: boolean;
  /** False for event stores: single records cannot be deleted (delete() must refuse, naming why), nor edited, so there are no deletes or edits to detect. */
  readonly recordDeletes?: boolean;
  /**
   * Sources without change tracking re-read a look-back window on every incremental pull: the ids that
   * window holds now (the changed one among them). Default: only the changed record comes back.
   */
  readonly lookBackWindow?: (fake: Fake) => string[];
  /**
   * How long after a change the vendor exposes it (Amplitude's export lag): the incremental test moves
   * the connector's clock (`context.now`) this far forward after touching a record. Default 0.
   */
  readonly exposureDelayMs?: number;
  /** The vendor's erasure of one data subject: an email the fake holds data of, and whether it received the erasure. */
  readonly erasure?: { email(fake: Fake): string; erased(fake: Fake, email: string): boolean };
  /** Absent for vendors that send no webhooks: then every delivery must be refused. */
  readonly webhook?: {
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
/** How late the late-exposed change is dated: inside every connector's look-back window (five minutes). */
const LATE_LAG_MS = 60_000;

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
    let clockSkewMs = 0;
    const context: ConnectorContext = {
      sleep: async (ms) => void sleeps.push(ms),
      now: () => Date.now() + clockSkewMs,
    };
    const pushObject = spec.pushObject ?? spec.object;
    const semantics = spec.pushSemantics ?? 'upsert';

    beforeEach(async () => {
      sleeps.length = 0;
      clockSkewMs = 0;
      fake = await spec.startFake({ seed: { [spec.object]: SEEDED }, pageSize: PAGE });
      config = spec.module.configSchema.parse(spec.configFor(fake.url, PAGE));
    });
    afterEach(async () => {
      const violations = fake.violations?.() ?? [];
      await fake.close();
      // Whatever the test did, the connector must only have sent requests the vendor documents.
      expect(violations).toEqual([]);
    });

    async function pullAll(
      cursor: string | null,
      maxPages = 100,
    ): Promise<{ ids: string[]; cursor: string | null; pages: number }> {
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
      clockSkewMs += spec.exposureDelayMs ?? 0;
      const next = await pullAll(full.cursor);
      if (spec.lookBackWindow) {
        const window = spec.lookBackWindow(fake);
        expect(window).toContain(changed);
        expect(window.length).toBeLessThan(fake.ids(spec.object).length);
        expect([...next.ids].sort()).toEqual([...window].sort());
        return;
      }
      expect(next.ids).toEqual([changed]);
      const again = await pullAll(next.cursor);
      expect(again.ids).toEqual([]);
    });

    // Event stores (recordDeletes: false) hold immutable events and re-read days: no record changes between pages.
    (spec.recordDeletes === false ? test.skip : test)(
      'a record changed between two pages of a run is pulled at its new version, once per version; every other record once',
      async () => {
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
      },
    );

    (spec.recordDeletes === false ? test.skip : test)(
      'a change the vendor exposes late, dated before changes already pulled, is pulled once, at its new version',
      async () => {
        expect(fake.touchLate).toBeDefined();
        const full = await pullAll(null);
        const [late, prompt] = fake.ids(spec.object);
        fake.touch(spec.object, prompt);
        clockSkewMs += spec.exposureDelayMs ?? 0;
        const first = await pullAll(full.cursor);
        expect(first.ids).toContain(prompt);
        fake.touchLate!(spec.object, late, LATE_LAG_MS);
        clockSkewMs += spec.exposureDelayMs ?? 0;
        const second = await pullAll(first.cursor);
        expect(second.ids.filter((id) => id === late)).toEqual([late]);
        const third = await pullAll(second.cursor);
        expect(third.ids).not.toContain(late);
      },
    );

    (spec.recordDeletes === false ? test.skip : test)(
      'a record deleted at the vendor is detected as deleted, once',
      async () => {
        const full = await pullAll(null);
        if (spec.deletes === 'sweep') {
          // The runtime sweeps only the objects the module names.
          expect(spec.module.sweepObjects).toContain(spec.object);
          const [gone] = fake.ids(spec.object);
          fake.remove!(spec.object, gone);
          const connector = spec.module.create(config, context);
          expect(await sweepDeleted(spec.name, connector, spec.object, full.ids)).toEqual([gone]);
          expect(
            await sweepDeleted(
              spec.name,
              connector,
              spec.object,
              full.ids.filter((id) => id !== gone),
            ),
          ).toEqual([]);
          return;
        }
        const [victim] = fake.ids(spec.object);
        fake.remove!(spec.object, victim);
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
      },
    );

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
      const error = await spec.module
        .create(config, context)
        .pull(spec.object, null)
        .catch((e) => e);
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
      if (spec.pushAuthErrors === false)
        await expect(connector.push(pushObject, spec.pushRecords(1, 0))).resolves.toMatchObject({ failed: [] });
      else await expect(connector.push(pushObject, spec.pushRecords(1, 0))).rejects.toMatchObject({ kind: 'auth' });
    });

    test(
      semantics === 'append'
        ? 'push delivers each record once per push (the vendor keeps no key to deduplicate on)'
        : 'push upserts are idempotent: pushing the same records twice leaves the same state',
      async () => {
        const connector = spec.module.create(config, context);
        const records = spec.pushRecords(5, 1);
        const before = fake.ids(pushObject).length;
        const first = await connector.push(pushObject, records);
        expect(first.failed).toEqual([]);
        expect(first.upserted).toBe(5);
        const afterFirst = fake.snapshot(pushObject);
        expect(fake.ids(pushObject)).toHaveLength(before + 5);
        const second = await connector.push(pushObject, records);
        expect(second.failed).toEqual([]);
        if (semantics === 'append') {
          expect(fake.ids(pushObject)).toHaveLength(before + 10);
          return;
        }
        expect(fake.snapshot(pushObject)).toEqual(afterFirst);
        expect(fake.ids(pushObject)).toHaveLength(before + 5);
      },
    );

    if (semantics !== 'append') {
      test(
        semantics === 'upsert'
          ? 'push updates an existing record in place by its external key'
          : 'a re-push under a known key is dropped by the vendor, never duplicated',
        async () => {
          const connector = spec.module.create(config, context);
          await connector.push(pushObject, spec.pushRecords(2, 1));
          const count = fake.ids(pushObject).length;
          const snapshot = JSON.stringify(fake.snapshot(pushObject));
          await connector.push(pushObject, spec.pushRecords(2, 2));
          expect(fake.ids(pushObject)).toHaveLength(count);
          if (semantics === 'upsert') expect(JSON.stringify(fake.snapshot(pushObject))).not.toBe(snapshot);
          else expect(JSON.stringify(fake.snapshot(pushObject))).toBe(snapshot);
        },
      );
    }

    if (spec.recordDeletes === false) {
      test('delete of single records is refused as unsupported, changing nothing', async () => {
        const [victim] = fake.ids(spec.object);
        const error = await spec.module
          .create(config, context)
          .delete(spec.object, [victim])
          .catch((e) => e);
        expect(error).toBeInstanceOf(IntegrationError);
        expect(error.message).toMatch(/not support|cannot delete/i);
        expect(fake.ids(spec.object)).toContain(victim);
      });
    } else {
      test('delete removes records by vendor id', async () => {
        const connector = spec.module.create(config, context);
        const [victim] = fake.ids(spec.object);
        await connector.delete(spec.object, [victim]);
        expect(fake.ids(spec.object)).not.toContain(victim);
      });
    }

    if (spec.erasure) {
      const erasure = spec.erasure;
      test('erase(email) files the vendor erasure of that subject, and auth failures surface', async () => {
        const email = erasure.email(fake);
        expect(erasure.erased(fake, email)).toBe(false);
        await spec.module.create(config, context).erase(email);
        expect(erasure.erased(fake, email)).toBe(true);
        fake.revokeAuth();
        await expect(spec.module.create(config, context).erase(email)).rejects.toMatchObject({ kind: 'auth' });
      });
    }

    if (!spec.webhook) {
      test('the vendor sends no webhooks: every delivery is refused', () => {
        const request: WebhookRequest = {
          method: 'POST',
          url: `https://api.example.com/webhooks/${spec.name}`,
          headers: { 'content-type': 'application/json' },
          rawBody: Buffer.from('{}'),
          now: Date.now(),
        };
        expect(() => spec.module.verifyWebhook(config, request)).toThrow(WebhookRejected);
      });
      return;
    }
    const webhook = spec.webhook;

    describe('webhook verification', () => {
      const now = Date.parse('2026-03-01T12:00:00Z');

      test('accepts a valid delivery and returns its events with ids', () => {
        const request = webhook.sign(config, webhook.body(config, 1), now);
        const result = spec.module.verifyWebhook(config, request);
        expect(result.events.length).toBeGreaterThan(0);
        for (const event of result.events) expect(event.id).toEqual(expect.any(String));
      });

      test('rejects a forged delivery', () => {
        // The forger builds and signs the whole delivery with the secret they guessed.
        const forged = webhook.forgedConfig(config);
        const request = webhook.sign(forged, webhook.body(forged, 2), now);
        expect(() => spec.module.verifyWebhook(config, request)).toThrow(WebhookRejected);
      });

      test('rejects a tampered delivery', () => {
        const request = webhook.sign(config, webhook.body(config, 3), now);
        const tampered = (webhook.tamper ?? tamperBody)(request);
        expect(tampered.rawBody.equals(request.rawBody) && tampered.url === request.url).toBe(false);
        expect(() => spec.module.verifyWebhook(config, tampered)).toThrow(WebhookRejected);
      });

      test('a replayed delivery is rejected or carries the same dedupe ids', () => {
        const request = webhook.sign(config, webhook.body(config, 4), now);
        if (webhook.replay === 'timestamp') {
          expect(spec.module.verifyWebhook(config, request).events.length).toBeGreaterThan(0);
          expect(() => spec.module.verifyWebhook(config, { ...request, now: now + 10 * 60_000 })).toThrow(
            WebhookRejected,
          );
        } else {
          const first = spec.module.verifyWebhook(config, request).events.map((e) => e.id);
          expect(first.length).toBeGreaterThan(0);
          expect(new Set(first).size).toBe(first.length);
          const repeat = spec.module.verifyWebhook(config, { ...request, now: now + 60_000 }).events.map((e) => e.id);
          expect(repeat).toEqual(first);
        }
      });

      test('rejects a malformed body with WebhookRejected, not a crash', () => {
        const request = webhook.sign(config, Buffer.from('{not json <xml'), now);
        expect(() => spec.module.verifyWebhook(config, request)).toThrow(WebhookRejected);
      });
    });
  });
}
