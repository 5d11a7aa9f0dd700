/**
 * A small client for the n8n public REST API v1 (`/api/v1`, header `X-N8N-API-KEY`). The public API
 * has no "run this workflow" operation, so a workflow is executed by calling the production URL of its
 * Webhook trigger node (`<n8n>/webhook/<path>`), which is how n8n documents starting workflows from
 * outside.
 */
export interface N8nWorkflowNode {
  readonly name: string;
  readonly type: string;
  readonly webhookId?: string;
  readonly parameters?: Record<string, unknown>;
}

export interface N8nWorkflow {
  readonly id: string;
  readonly name: string;
  readonly active: boolean;
  readonly createdAt?: string;
  readonly updatedAt?: string;
  readonly tags?: readonly { id: string; name: string }[];
  readonly nodes?: readonly N8nWorkflowNode[];
}

export interface N8nExecution {
  readonly id: string;
  readonly workflowId: string;
  readonly finished: boolean;
  readonly mode: string;
  readonly status?: string;
  readonly startedAt: string | null;
  readonly stoppedAt: string | null;
}

export interface N8nPage<T> {
  readonly data: T[];
  readonly nextCursor: string | null;
}

export type N8nErrorKind = 'unreachable' | 'auth' | 'not_found' | 'bad_request' | 'api';

export class N8nError extends Error {
  constructor(
    readonly kind: N8nErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'N8nError';
  }
}

export interface N8nClientOptions {
  /** n8n's base URL, e.g. http://127.0.0.1:5678 (no /api/v1). */
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
  /** Headers sent with every webhook call, e.g. n8n/webhooks' X-Webhook-Token; default none. */
  readonly webhookHeaders?: Readonly<Record<string, string>>;
}

const WEBHOOK_NODE = 'n8n-nodes-base.webhook';

export function createN8nClient(options: N8nClientOptions) {
  const base = options.baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;

  async function call(
    method: string,
    url: string,
    init: { headers?: Record<string, string>; body?: string } = {},
  ): Promise<{ status: number; body: unknown }> {
    let response: Response;
    try {
      response = await doFetch(url, {
        method,
        headers: init.headers,
        body: init.body,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new N8nError('unreachable', `n8n is unreachable at ${base}: ${(error as Error).message}`);
    }
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // n8n webhooks may answer plain text; keep it as is
    }
    return { status: response.status, body };
  }

  async function api<T>(
    method: string,
    path: string,
    query: Record<string, string | number | boolean | undefined> = {},
  ): Promise<T> {
    const url = new URL(`${base}/api/v1${path}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    const { status, body } = await call(method, url.toString(), {
      headers: { 'X-N8N-API-KEY': options.apiKey, accept: 'application/json' },
    });
    if (status >= 200 && status < 300) return body as T;
    const message =
      body && typeof body === 'object' && 'message' in body
        ? String((body as { message: unknown }).message)
        : `HTTP ${status}`;
    if (status === 401 || status === 403)
      throw new N8nError('auth', `n8n rejected the API key (N8N_API_KEY): ${message}`, status);
    if (status === 404) throw new N8nError('not_found', `n8n: ${message}`, status);
    if (status === 400) throw new N8nError('bad_request', `n8n: ${message}`, status);
    if (status >= 500) throw new N8nError('unreachable', `n8n answered ${status}: ${message}`, status);
    throw new N8nError('api', `n8n answered ${status}: ${message}`, status);
  }

  const workflow = (raw: N8nWorkflow): N8nWorkflow => ({ ...raw, id: String(raw.id) });
  const execution = (raw: N8nExecution): N8nExecution => ({
    ...raw,
    id: String(raw.id),
    workflowId: String(raw.workflowId),
  });

  return {
    baseUrl: base,
    async listWorkflows(q: { cursor?: string; limit?: number; active?: boolean } = {}): Promise<N8nPage<N8nWorkflow>> {
      const page = await api<N8nPage<N8nWorkflow>>('GET', '/workflows', {
        cursor: q.cursor,
        limit: q.limit,
        active: q.active,
      });
      return { data: page.data.map(workflow), nextCursor: page.nextCursor ?? null };
    },
    async getWorkflow(id: string): Promise<N8nWorkflow> {
      return workflow(await api<N8nWorkflow>('GET', `/workflows/${encodeURIComponent(id)}`));
    },
    async activate(id: string): Promise<N8nWorkflow> {
      return workflow(await api<N8nWorkflow>('POST', `/workflows/${encodeURIComponent(id)}/activate`));
    },
    async deactivate(id: string): Promise<N8nWorkflow> {
      return workflow(await api<N8nWorkflow>('POST', `/workflows/${encodeURIComponent(id)}/deactivate`));
    },
    async listExecutions(
      q: { workflowId?: string; status?: string; cursor?: string; limit?: number } = {},
    ): Promise<N8nPage<N8nExecution>> {
      const page = await api<N8nPage<N8nExecution>>('GET', '/executions', {
        workflowId: q.workflowId,
        status: q.status,
        cursor: q.cursor,
        limit: q.limit,
      });
      return { data: page.data.map(execution), nextCursor: page.nextCursor ?? null };
    },
    /**
     * Runs a workflow through its Webhook trigger's production URL. The workflow must be active and
     * start with a Webhook node; otherwise a bad_request error says so.
     */
    async executeViaWebhook(id: string, payload: unknown): Promise<{ status: number; body: unknown; url: string }> {
      const wf = await this.getWorkflow(id);
      const node = wf.nodes?.find((n) => n.type === WEBHOOK_NODE);
      if (!node)
        throw new N8nError(
          'bad_request',
          `workflow ${id} has no Webhook trigger node, so it cannot be started from outside n8n`,
        );
      if (!wf.active)
        throw new N8nError(
          'bad_request',
          `workflow ${id} is not active: activate it first (its webhook only listens while active)`,
        );
      const path = String(node.parameters?.path || node.webhookId || '').replace(/^\/+/, '');
      if (!path) throw new N8nError('bad_request', `workflow ${id}'s Webhook node has no path`);
      const method = String(node.parameters?.httpMethod ?? 'GET').toUpperCase();
      const url = `${base}/webhook/${path}`;
      const withBody = method !== 'GET' && method !== 'HEAD';
      const target = withBody
        ? url
        : `${url}?${new URLSearchParams(Object.entries((payload as Record<string, unknown>) ?? {}).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]))}`;
      const headers = { ...options.webhookHeaders, ...(withBody ? { 'content-type': 'application/json' } : {}) };
      const { status, body } = await call(
        method,
        target,
        withBody ? { headers, body: JSON.stringify(payload ?? {}) } : { headers },
      );
      if (status === 404)
        throw new N8nError('not_found', `n8n has no webhook registered at ${url} (is the workflow active?)`, status);
      if (status === 401 || status === 403)
        throw new N8nError(
          'auth',
          `n8n's webhook at ${url} refused the call (${status}): its header credential (N8N_WEBHOOK_TOKEN) is missing or wrong`,
          status,
        );
      if (status >= 500) throw new N8nError('unreachable', `n8n webhook answered ${status}`, status);
      return { status, body, url };
    },
    /** ok when the API answers with this key. */
    async ping(): Promise<void> {
      await api('GET', '/workflows', { limit: 1 });
    },
  };
}

export type N8nClient = ReturnType<typeof createN8nClient>;
