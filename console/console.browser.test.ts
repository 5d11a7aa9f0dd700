/**
 * The web console end to end: the runtime (API, engine, worker on PGlite) serving the built console at
 * /console, driven in headless Chromium (Debian's package) through playwright-core. Each page is checked
 * for what an operator relies on, and its layout at 1280x800; screenshots are written for review.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chromium, BrowserContext, Page } from 'playwright-core';
import { toSalesforce, sfTime } from '@data-sync/pipelines/testing/generate';
import { createPipelinesApi } from '@data-sync/sync-runtime/src/api/pipelines-adapter';
import { bearer, createHarness, Harness } from '@data-sync/sync-runtime/src/api/testing/harness';
import { DEMO_CONFIG, slowDemoConnector } from '@data-sync/sync-runtime/src/api/testing/demo-connector';

const { buildConsole } = require(path.join(__dirname, '../scripts/build-console.js')) as {
  buildConsole: () => Promise<{ outdir: string }>;
};

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const VIEWPORT = { width: 1280, height: 800 };
const SHOTS = path.join(os.tmpdir(), 'data-sync-console-screenshots');
/** Pages commit slowly enough to be followed one by one. */
const slowDemo = slowDemoConnector(700);

const chromiumMissing = !fs.existsSync(CHROMIUM);
const requireChromium = process.env.REQUIRE_SERVICES === '1';
if (chromiumMissing) {
  const hint = 'install it with: apt-get install -y --no-install-recommends chromium';
  console.warn(
    `${CHROMIUM} is missing: ${requireChromium ? 'failing' : 'skipping'} the console's browser tests; ${hint}`,
  );
}
const describeBrowser = chromiumMissing && !requireChromium ? describe.skip : describe;

describeBrowser('web console in headless Chromium', () => {
  let h: Harness;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  let failedRunId: string;

  beforeAll(async () => {
    await buildConsole();
    h = await createHarness({ worker: true, connectors: { demo: slowDemo } });
    const admin = bearer(h.auth.admin);
    for (const name of ['crm', 'erp']) {
      const res = await h.inject({
        method: 'POST',
        url: '/api/integrations',
        headers: admin,
        payload: { name, system: 'demo', objects: ['contacts'], config: DEMO_CONFIG },
      });
      expect(res.statusCode).toBe(201);
    }
    await h.inject({
      method: 'POST',
      url: '/api/integrations',
      headers: admin,
      payload: {
        name: 'stale',
        system: 'demo',
        objects: ['contacts'],
        config: { ...DEMO_CONFIG, apiKey: 'revoked-0123456789' },
      },
    });
    const crmRun = (
      await h.inject({ method: 'POST', url: '/api/sync/trigger/crm', headers: admin, payload: { full: true } })
    ).json().runId;
    const erpRun = (
      await h.inject({ method: 'POST', url: '/api/sync/trigger/erp', headers: admin, payload: { full: true } })
    ).json().runId;
    // A run that failed, with its error, recorded as the engine records one.
    failedRunId = 'a0a0a0a0-0000-4000-8000-000000000001';
    await h.db.query(
      `INSERT INTO sync_runs (id, integration, status, actor, pages, received, accepted, error,
         queued_at, started_at, finished_at, updated_at)
       VALUES ($1, 'stale', 'failed', 'scheduler', 0, 0, 0, 'auth (HTTP 401): demo: API key revoked',
         now(), now(), now(), now())`,
      [failedRunId],
    );
    const record = (email: string, id: number, extra: Record<string, unknown> = {}) => ({
      ...toSalesforce(
        {
          email,
          first_name: 'jane',
          last_name: 'doe',
          phone: '+1 415 555 0100',
          company_name: 'Acme',
          created_at: sfTime(0),
          updated_at: sfTime(1),
        },
        id,
      ),
      ...extra,
    });
    // A name that is markup: the console must show it as text.
    await createPipelinesApi().runBatch(h.db, {
      integration: 'crm',
      mapping: 'salesforce_to_internal.Contact',
      records: [record('not-an-email', 1, { FirstName: '<img src=x id=injected>' })],
    });
    await h.queue.enqueue({ kind: 'sync', integration: 'erp', payload: { runId: 'no-such-run', full: false } });
    for (let i = 0; i < 400; i++) {
      const [a, b] = await Promise.all(
        [crmRun, erpRun].map(
          async (id) => (await h.inject({ method: 'GET', url: `/api/sync/runs/${id}`, headers: admin })).json().status,
        ),
      );
      if (a === 'succeeded' && b === 'succeeded' && (await h.queue.depth()).dead === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    fs.mkdirSync(SHOTS, { recursive: true });
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'console-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: VIEWPORT,
    });
    page = context.pages()[0] ?? (await context.newPage());
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await h?.close();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });

  /** Layout at the test viewport: nothing wider than the window, the header on one line, the heading in view. */
  async function checkLayout(name: string) {
    const layout = await page.evaluate(() => {
      const header = document.querySelector('header')!.getBoundingClientRect();
      const heading = document.querySelector('main h1')?.getBoundingClientRect() ?? null;
      const widest = Math.max(
        ...Array.from(document.querySelectorAll('main *')).map((e) => e.getBoundingClientRect().right),
      );
      return {
        scrollWidth: document.documentElement.scrollWidth,
        headerHeight: header.height,
        heading: heading && { top: heading.top, height: heading.height },
        widest,
      };
    });
    expect(layout.scrollWidth).toBeLessThanOrEqual(VIEWPORT.width);
    expect(layout.widest).toBeLessThanOrEqual(VIEWPORT.width);
    expect(layout.headerHeight).toBeLessThan(60);
    expect(layout.heading).not.toBeNull();
    expect(layout.heading!.top).toBeGreaterThan(layout.headerHeight);
    expect(layout.heading!.top + layout.heading!.height).toBeLessThan(VIEWPORT.height);
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: false });
  }

  async function signIn(token: string) {
    await page.evaluate(() => sessionStorage.clear());
    await page.goto(`${h.url}/console#/integrations`);
    await page.fill('input[name=token]', token);
    await page.click('button[type=submit]');
  }

  test('the assets are public but no data shows without a token; a wrong token is refused on the form', async () => {
    const res = await h.inject({ method: 'GET', url: '/console' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect((await h.inject({ method: 'GET', url: '/console/..%2Fpackage.json' })).statusCode).toBe(404);
    await page.goto(`${h.url}/console`);
    await page.waitForSelector('form.login');
    expect(await page.locator('table').count()).toBe(0);
    await page.fill('input[name=token]', 'dst_not-a-real-token');
    await page.click('button[type=submit]');
    await page.waitForSelector('form.login .error-text');
    expect(await page.textContent('form.login .error-text')).toBe(
      'GET /api/integrations: 401 invalid or revoked API token',
    );
    await checkLayout('sign-in');
  });

  test('integrations: health from a connection test and the last run of each', async () => {
    await signIn(h.auth.viewer);
    await page.waitForSelector('main table');
    const rows = await page.$$eval('main tbody tr', (trs) =>
      trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent!.trim())),
    );
    const byName = Object.fromEntries(rows.map((r) => [r[0], r]));
    expect(byName.crm.slice(0, 5)).toEqual(['crm', 'demo', 'yes', '1h', 'ok']);
    expect(byName.crm[5]).toMatch(/^succeeded \d{4}-\d\d-\d\d /);
    expect(byName.crm[6]).toBe('3');
    expect(byName.stale[4]).toBe('down demo: API key revoked');
    expect(byName.stale[5]).toMatch(/^failed /);
    await checkLayout('integrations');
  });

  test('runs: counts and errors, newest first', async () => {
    await page.goto(`${h.url}/console#/runs`);
    await page.waitForSelector('main table');
    const text = await page.textContent('main table');
    expect(text).toContain('auth (HTTP 401): demo: API key revoked');
    const crm = await page.$$eval('main tbody tr', (trs) =>
      trs
        .map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent!.trim()))
        .find((r) => r[1] === 'crm'),
    );
    expect(crm!.slice(1, 9)).toEqual(['crm', 'pull (full)', 'succeeded', '3', '3', '3', '0', '0']);
    await checkLayout('runs');
  });

  test("a run's pages appear as they commit, until it succeeds (an operator starts it with Sync now)", async () => {
    // Cursors cleared: the incremental run the button starts pulls all three records again, a page each.
    expect(
      (await h.inject({ method: 'DELETE', url: '/api/sync/reset/erp', headers: bearer(h.auth.operator) })).statusCode,
    ).toBe(200);
    await signIn(h.auth.operator);
    await page.waitForSelector('main table');
    await page.click('main tbody tr:has(td:text-is("erp")) button:text("Sync now")');
    await page.waitForURL(/#\/runs\/[0-9a-f-]{36}$/);
    await page.waitForSelector('[data-testid=timeline] li');
    // Mid-run: the first page is in while the run still goes.
    expect(await page.textContent('main .badge')).toBe('running');
    await checkLayout('run-live');
    await page.waitForFunction(() => document.querySelector('main .badge')?.textContent === 'succeeded', undefined, {
      timeout: 30_000,
    });
    const timeline = await page.$$eval('[data-testid=timeline] li', (lis) => lis.map((li) => li.textContent!));
    expect(timeline.length).toBeGreaterThanOrEqual(2);
    expect(timeline.at(-1)).toMatch(/ \(total 3 pages\)$/);
    expect(await page.textContent('[data-testid=counts]')).toBe(
      '3 pages · 3 received · 0 accepted · 0 quarantined · 3 duplicates',
    );
  });

  test('quarantine: reasons per field, shown as text, and replay reports what it did', async () => {
    await page.goto(`${h.url}/console#/quarantine`);
    await page.waitForSelector('main table');
    expect(await page.textContent('main ul.reasons')).toMatch(/^email: /);
    expect(await page.textContent('main table')).toContain('<img src=x id=injected>');
    expect(await page.locator('#injected').count()).toBe(0);
    await checkLayout('quarantine');
    await page.click('button:text("Replay all")');
    await page.waitForSelector('#notice:not([hidden])');
    expect(await page.textContent('#notice')).toBe('replayed 1: 0 accepted, 1 still quarantined');
  });

  test('dead letters: an operator sees them but may not redrive; an admin can', async () => {
    await page.goto(`${h.url}/console#/dead-letters`);
    await page.waitForSelector('main table');
    expect(await page.textContent('main table')).toContain('sync job');
    await checkLayout('dead-letters');
    await page.click('button:text("Redrive all")');
    await page.waitForSelector('#error:not([hidden])');
    expect(await page.textContent('#error')).toBe(
      'POST /api/queue/redrive: 403 POST /api/queue/redrive needs the admin role; this token has operator',
    );
    await signIn(h.auth.admin);
    await page.goto(`${h.url}/console#/dead-letters`);
    await page.waitForSelector('main tbody button');
    await page.click('main tbody button:text("Redrive")');
    await page.waitForSelector('#notice:not([hidden])');
    expect(await page.textContent('#notice')).toBe('1 job moved back to the queue');
  });

  test('records per hour: one line per integration over the last 24 hours, with totals in the legend', async () => {
    await page.goto(`${h.url}/console#/throughput`);
    await page.waitForSelector('main svg polyline');
    const lines = await page.$$eval('main svg polyline', (ps) => ps.map((p) => p.getAttribute('data-integration')));
    expect(lines.sort()).toEqual(['crm', 'erp']);
    expect(await page.textContent('main .legend')).toMatch(/crm \(3\).*erp \(6\)/);
    const clipped = await page.$$eval('main svg text', (texts) => {
      const chart = document.querySelector('main svg')!.getBoundingClientRect();
      return texts
        .filter((t) => {
          const r = t.getBoundingClientRect();
          return r.left < chart.left || r.right > chart.right;
        })
        .map((t) => t.textContent);
    });
    expect(clipped).toEqual([]);
    const box = await page.locator('main svg').boundingBox();
    expect(box!.width).toBeGreaterThan(VIEWPORT.width * 0.8);
    await checkLayout('throughput');
  });
});
