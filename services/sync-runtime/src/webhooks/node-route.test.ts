import { createHarness, Harness } from '../api/testing/harness';
import { WEBHOOK_CASES, caseHeaders } from './ingest.cases';

let h: Harness;

beforeAll(async () => {
  h = await createHarness();
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
