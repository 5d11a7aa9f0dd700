import { facebook } from '@data-sync/integrations/social/facebook';
import { demoConnector } from '../api/testing/demo-connector';
import { createHarness, Harness } from '../api/testing/harness';
import { HANDSHAKE_CASES, WEBHOOK_CASES, caseHeaders } from './ingest.cases';

let h: Harness;

beforeAll(async () => {
  h = await createHarness({ connectors: { demo: demoConnector, facebook } });
  for (const c of WEBHOOK_CASES) {
    if (c.integration)
      await h.integrations.create({
        ...c.integration,
        webhookAllowlist: [...c.integration.webhookAllowlist],
        system: 'demo',
        syncInterval: '1h',
        objects: ['contacts'],
      });
  }
  for (const c of HANDSHAKE_CASES)
    await h.integrations.create({
      ...c.integration,
      enabled: true,
      webhookAllowlist: [],
      syncInterval: '1h',
      objects: ['leads'],
    });
});
afterAll(async () => h.close());

describe('POST /webhooks/:integration on the Node API (the cases the Worker answers alike)', () => {
  test.each(WEBHOOK_CASES.map((c) => [c.title, c] as const))('%s', async (_title, c) => {
    const res = await h.inject({
      method: 'POST',
      url: `/webhooks/${c.name}`,
      headers: caseHeaders(c),
      payload: c.body,
    });
    expect(res.statusCode).toBe(c.expected.status);
    expect(res.json()).toMatchObject(c.expected.body);
    const jobs = await h.db.query<{ dedupe_key: string | null }>(
      `SELECT dedupe_key FROM jobs WHERE kind = 'webhook' AND integration = $1`,
      [c.name],
    );
    expect(jobs.rows).toHaveLength(c.expected.queued ? 1 : 0);
    if (c.expected.queued) expect(jobs.rows[0].dedupe_key).toMatch(new RegExp(`^webhook:${c.name}:[0-9a-f]{32}$`));
    const audit = await h.db.query(
      `SELECT 1 FROM audit_log WHERE action = 'webhook.rejected' AND target = $1 AND outcome = 'rejected'`,
      [c.name],
    );
    expect(audit.rows).toHaveLength(c.expected.audited ? 1 : 0);
  });
});

describe('GET /webhooks/:integration on the Node API: subscription handshakes (the Worker answers alike)', () => {
  test.each(HANDSHAKE_CASES.map((c) => [c.title, c] as const))('%s', async (_title, c) => {
    const res = await h.inject({ method: 'GET', url: `/webhooks/${c.name}${c.query}` });
    expect(res.statusCode).toBe(c.expected.status);
    if (c.expected.text !== undefined) {
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.body).toBe(c.expected.text);
    } else expect(res.json()).toMatchObject(c.expected.body!);
    const audit = await h.db.query(`SELECT 1 FROM audit_log WHERE action = 'webhook.rejected' AND target = $1`, [
      c.name,
    ]);
    expect(audit.rows).toHaveLength(c.expected.audited ? 1 : 0);
  });
});
