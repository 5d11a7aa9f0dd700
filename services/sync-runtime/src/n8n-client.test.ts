import * as http from 'http';
import type { AddressInfo } from 'net';
import { n8nClientFor } from './n8n-client';
import { googleIdTokenAuth, type IdTokenSource } from './security/google-id-token';

/** A local n8n stand-in that records each request's headers: one active workflow with a webhook trigger. */
async function recordingN8n() {
  const seen: { path: string; headers: http.IncomingHttpHeaders }[] = [];
  const server = http.createServer((request, response) => {
    seen.push({ path: request.url!, headers: request.headers });
    response.setHeader('content-type', 'application/json');
    const body = request.url!.startsWith('/api/v1/workflows/wf1')
      ? {
          id: 'wf1',
          name: 'probe',
          active: true,
          nodes: [
            { name: 'Webhook', type: 'n8n-nodes-base.webhook', parameters: { path: 'probe', httpMethod: 'POST' } },
          ],
        }
      : request.url!.startsWith('/api/v1/workflows')
        ? { data: [], nextCursor: null }
        : { ok: true };
    response.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const config = (n8nUrl: string) => ({ n8nUrl, n8nApiKey: 'api-key', n8nWebhookToken: 'webhook-token' });

describe("the runtime's n8n client behind a platform that wants its own credentials", () => {
  let n8n: Awaited<ReturnType<typeof recordingN8n>>;
  beforeEach(async () => (n8n = await recordingN8n()));
  afterEach(() => n8n.close());

  test('every API and webhook call carries the auth hook token beside the API key and webhook token', async () => {
    let calls = 0;
    const client = n8nClientFor(config(n8n.url), () => async () => ({ authorization: `Bearer id-token-${++calls}` }))!;
    await client.ping();
    await client.executeViaWebhook('wf1', { a: 1 });
    expect(n8n.seen.map((r) => [r.path, r.headers.authorization])).toEqual([
      ['/api/v1/workflows?limit=1', 'Bearer id-token-1'],
      ['/api/v1/workflows/wf1', 'Bearer id-token-2'],
      ['/webhook/probe', 'Bearer id-token-3'],
    ]);
    expect(n8n.seen[0].headers['x-n8n-api-key']).toBe('api-key');
    expect(n8n.seen[2].headers['x-webhook-token']).toBe('webhook-token');
    expect(n8n.seen[2].headers['content-type']).toBe('application/json');
  });

  test('without a hook no Authorization header is sent', async () => {
    await n8nClientFor(config(n8n.url))!.ping();
    expect(n8n.seen[0].headers.authorization).toBeUndefined();
    expect(n8n.seen[0].headers['x-n8n-api-key']).toBe('api-key');
  });

  test('a hook that cannot get a token makes the call fail, saying why', async () => {
    const client = n8nClientFor(config(n8n.url), () => async () => {
      throw new Error('no Google ID token for https://n8n.example: metadata server unreachable');
    })!;
    await expect(client.ping()).rejects.toThrow(/no Google ID token .*metadata server unreachable/);
    expect(n8n.seen).toEqual([]);
  });
});

describe('Google ID tokens for n8n on Cloud Run', () => {
  /** A stub of GoogleAuth: an ID-token client whose headers carry a token naming the audience it was made for. */
  const stubSource = () => {
    const audiences: string[] = [];
    const source: IdTokenSource = {
      async getIdTokenClient(audience) {
        audiences.push(audience);
        return { getRequestHeaders: async () => new Headers({ authorization: `Bearer token-for-${audience}` }) };
      },
    };
    return { source, audiences };
  };

  test("the token's audience is the service URL's origin, and one ID-token client serves every call", async () => {
    const { source, audiences } = stubSource();
    const auth = googleIdTokenAuth('https://data-sync-prod-n8n-abc-uc.a.run.app/', source);
    expect(await auth()).toEqual({ authorization: 'Bearer token-for-https://data-sync-prod-n8n-abc-uc.a.run.app' });
    await auth();
    expect(audiences).toEqual(['https://data-sync-prod-n8n-abc-uc.a.run.app']);
  });

  test('a plain-HTTP n8n (a local one) is sent no token', async () => {
    const { source, audiences } = stubSource();
    expect(await googleIdTokenAuth('http://127.0.0.1:5678', source)()).toEqual({});
    expect(audiences).toEqual([]);
  });

  test('a failure names the audience, and the next call asks the credentials again', async () => {
    let attempts = 0;
    const source: IdTokenSource = {
      async getIdTokenClient() {
        attempts += 1;
        if (attempts === 1) throw new Error('metadata server timed out');
        return { getRequestHeaders: async () => new Headers({ authorization: 'Bearer second' }) };
      },
    };
    const auth = googleIdTokenAuth('https://n8n.a.run.app', source);
    await expect(auth()).rejects.toThrow('no Google ID token for https://n8n.a.run.app: metadata server timed out');
    expect(await auth()).toEqual({ authorization: 'Bearer second' });
  });
});
