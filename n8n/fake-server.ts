/**
 * A local stand-in for n8n for tests: the public API v1 wire format (X-N8N-API-KEY, `data` +
 * `nextCursor` paging, activate/deactivate, executions filtered by workflowId) and production webhook
 * URLs (`/webhook/<path>`) that only answer while their workflow is active, each call recorded as an execution.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';

export interface FakeWorkflow {
  id: string;
  name: string;
  active: boolean;
  createdAt: string;
  updatedAt: string;
  tags: { id: string; name: string }[];
  nodes: { name: string; type: string; parameters: Record<string, unknown>; position: [number, number] }[];
  connections: Record<string, unknown>;
}

export interface FakeN8n {
  url: string;
  state: {
    workflows: FakeWorkflow[];
    executions: {
      id: string;
      workflowId: string;
      finished: boolean;
      mode: string;
      status: string;
      startedAt: string;
      stoppedAt: string;
      data: unknown;
    }[];
    requests: number;
  };
  close(): Promise<void>;
}

export function webhookWorkflow(id: string, path: string, active = false): FakeWorkflow {
  const at = new Date(Date.UTC(2024, 0, 1)).toISOString();
  return {
    id,
    name: `Workflow ${id}`,
    active,
    createdAt: at,
    updatedAt: at,
    tags: [],
    nodes: [
      { name: 'Webhook', type: 'n8n-nodes-base.webhook', parameters: { path, httpMethod: 'POST' }, position: [0, 0] },
    ],
    connections: {},
  };
}

export async function startFakeN8n(options: {
  apiKey: string;
  workflows?: FakeWorkflow[];
  pageSize?: number;
}): Promise<FakeN8n> {
  const state: FakeN8n['state'] = { workflows: options.workflows ?? [], executions: [], requests: 0 };
  const pageSize = options.pageSize ?? 2;
  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    state.requests++;
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const parts = url.pathname.split('/').filter(Boolean);
      if (parts[0] === 'webhook') {
        const path = parts.slice(1).join('/');
        const wf = state.workflows.find(
          (w) =>
            w.active &&
            w.nodes.some(
              (n) =>
                n.type === 'n8n-nodes-base.webhook' &&
                n.parameters.path === path &&
                n.parameters.httpMethod === req.method,
            ),
        );
        if (!wf)
          return send(res, 404, {
            code: 404,
            message: `The requested webhook "${req.method} ${path}" is not registered.`,
          });
        const now = new Date().toISOString();
        const body = Buffer.concat(chunks).toString('utf8');
        state.executions.unshift({
          id: String(state.executions.length + 1),
          workflowId: wf.id,
          finished: true,
          mode: 'webhook',
          status: 'success',
          startedAt: now,
          stoppedAt: now,
          data: body ? JSON.parse(body) : null,
        });
        return send(res, 200, { message: 'Workflow was started' });
      }
      if (parts[0] !== 'api' || parts[1] !== 'v1') return send(res, 404, { message: 'not found' });
      if (req.headers['x-n8n-api-key'] !== options.apiKey)
        return send(res, 401, { message: "'X-N8N-API-KEY' header required" });
      const page = <T>(items: T[]) => {
        const limit = Math.min(Number(url.searchParams.get('limit') ?? 100), 250);
        const start = url.searchParams.get('cursor')
          ? Number(Buffer.from(url.searchParams.get('cursor')!, 'base64').toString())
          : 0;
        const size = Math.min(limit, pageSize);
        const data = items.slice(start, start + size);
        const nextCursor = start + size < items.length ? Buffer.from(String(start + size)).toString('base64') : null;
        return { data, nextCursor };
      };
      if (parts[2] === 'workflows' && req.method === 'GET' && parts.length === 3) {
        const active = url.searchParams.get('active');
        return send(res, 200, page(state.workflows.filter((w) => active === null || String(w.active) === active)));
      }
      if (parts[2] === 'workflows' && parts[3]) {
        const wf = state.workflows.find((w) => w.id === parts[3]);
        if (!wf) return send(res, 404, { message: 'Not Found' });
        if (req.method === 'GET' && parts.length === 4) return send(res, 200, wf);
        if (req.method === 'POST' && (parts[4] === 'activate' || parts[4] === 'deactivate')) {
          wf.active = parts[4] === 'activate';
          wf.updatedAt = new Date().toISOString();
          return send(res, 200, wf);
        }
      }
      if (parts[2] === 'executions' && req.method === 'GET' && parts.length === 3) {
        const workflowId = url.searchParams.get('workflowId');
        return send(
          res,
          200,
          page(
            state.executions
              .filter((e) => workflowId === null || e.workflowId === workflowId)
              .map(({ data: _data, ...e }) => e),
          ),
        );
      }
      return send(res, 405, { message: `${req.method} method not allowed` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    state,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
