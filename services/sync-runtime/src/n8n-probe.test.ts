import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { start } from './main';
import { startN8nProbe } from './n8n-probe';
import { createLogger } from './logger';

const quiet = { warn: jest.fn(), info: jest.fn() };

describe('n8n probe', () => {
  test('sets the gauge to 1 while n8n answers and to 0 when it stops, logging only the transitions', async () => {
    let healthy = true;
    const values: number[] = [];
    const probe = startN8nProbe({
      ping: async () => {
        if (!healthy) throw new Error('connect ECONNREFUSED');
      },
      gauge: { set: (v) => values.push(v) },
      logger: quiet,
      intervalMs: 3_600_000,
    });
    try {
      expect(await probe.probe()).toBe(1);
      healthy = false;
      expect(await probe.probe()).toBe(0);
      expect(await probe.probe()).toBe(0);
      healthy = true;
      expect(await probe.probe()).toBe(1);
      expect(values.slice(-4)).toEqual([1, 0, 0, 1]);
      expect(quiet.warn).toHaveBeenCalledTimes(1);
      expect(quiet.info).toHaveBeenCalledTimes(1);
    } finally {
      probe.stop();
    }
  });

  test('after stop a probe in flight no longer sets the gauge', async () => {
    let release!: () => void;
    const values: number[] = [];
    const probe = startN8nProbe({
      ping: () => new Promise<void>((resolve) => (release = resolve)),
      gauge: { set: (v) => values.push(v) },
      logger: quiet,
      intervalMs: 3_600_000,
    });
    const inFlight = probe.probe();
    probe.stop();
    release();
    await inFlight;
    expect(values).toEqual([]);
  });

  test('the runtime started with N8N_URL probes n8n by itself and /metrics reports data_sync_n8n_up 1', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-probe-'));
    let probed!: (key: string | undefined) => void;
    const probedWith = new Promise<string | undefined>((resolve) => (probed = resolve));
    // n8n's public API: GET /api/v1/workflows?limit=1 with X-N8N-API-KEY answers a page of workflows.
    const n8n = http.createServer((req, res) => {
      if (req.method === 'GET' && req.url?.startsWith('/api/v1/workflows')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: [], nextCursor: null }));
        probed(req.headers['x-n8n-api-key'] as string | undefined);
      } else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => n8n.listen(0, '127.0.0.1', resolve));
    const runtime = await start({
      env: {
        PORT: '0',
        DATA_SYNC_DATA_DIR: dataDir,
        DATA_SYNC_ROLE: 'api',
        N8N_URL: `http://127.0.0.1:${(n8n.address() as AddressInfo).port}`,
        N8N_API_KEY: 'probe-key',
      },
      logger: createLogger({ level: 'silent' }),
      print: () => undefined,
    });
    try {
      expect(await probedWith).toBe('probe-key');
      // The gauge is set once the client has read the answer: a scrape or two after the request.
      let metrics = '';
      for (let scrape = 0; scrape < 20 && !/^data_sync_n8n_up 1$/m.test(metrics); scrape++)
        metrics = await (await fetch(`${runtime.url}/metrics`)).text();
      expect(metrics).toMatch(/^data_sync_n8n_up 1$/m);
    } finally {
      await runtime.stop();
      await new Promise((resolve) => n8n.close(resolve));
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
