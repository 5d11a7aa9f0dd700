import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { INTEGRATIONS } from '@data-sync/config/integrations';
import { start, type Runtime } from './main';

describe('demo mode (npm run dev:demo)', () => {
  let dir: string;
  let runtime: Runtime;
  const lines: string[] = [];
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-it-'));
    runtime = await start({
      env: { DATA_SYNC_DATA_DIR: dir, PORT: '0', LOG_LEVEL: 'silent', DATA_SYNC_DEMO: 'true' },
      print: (line) => lines.push(line),
    });
  });
  afterAll(async () => {
    await runtime?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('every connector syncs records from its local fake with no credentials configured', async () => {
    expect(lines.join('\n')).toMatch(
      new RegExp(`Demo mode: ${INTEGRATIONS.length} integrations syncing from local vendor fakes`),
    );
    const headers = { authorization: `Bearer ${runtime.adminToken}` };
    const deadline = Date.now() + 90_000;
    let demoRuns: { integration: string; status: string; received: number; accepted: number }[] = [];
    while (Date.now() < deadline) {
      const history = (await (await fetch(`${runtime.url}/api/sync/history?limit=100`, { headers })).json()) as {
        runs: { integration: string; status: string; actor: string; received: number; accepted: number }[];
      };
      demoRuns = history.runs.filter((r) => r.actor === 'demo');
      if (
        demoRuns.length === INTEGRATIONS.length &&
        demoRuns.every((r) => r.status === 'succeeded' || r.status === 'failed')
      )
        break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const names = INTEGRATIONS.map((i) => i.name).sort();
    expect(demoRuns.map((r) => r.integration).sort()).toEqual(names);
    for (const run of demoRuns) {
      expect([run.integration, run.status]).toEqual([run.integration, 'succeeded']);
      expect([run.integration, run.accepted > 0 && run.accepted === run.received]).toEqual([run.integration, true]);
    }
  }, 120_000);
});
