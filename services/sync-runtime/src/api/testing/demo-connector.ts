/**
 * A connector module for the API's tests: in-memory records per object, a connection test that fails
 * for a revoked key, and HMAC-SHA256 webhook signatures (header x-demo-signature over the raw body).
 */
import { createHmac, timingSafeEqual } from 'crypto';
import { z } from 'zod';
import { ConnectorModule, IntegrationError, WebhookRejected } from '@data-sync/integrations/connector';

export const demoConfigSchema = z.object({
  baseUrl: z.string().url(),
  apiKey: z.string().min(8),
  webhookSecret: z.string().min(8),
  pageSize: z.number().int().min(1).max(1000).optional(),
});
export type DemoConfig = z.infer<typeof demoConfigSchema>;

/** Records served by every demo connector, per object; tests change it to simulate the source. */
export const demoSource: Record<string, { id: string; updatedAt: string; name: string }[]> = {
  contacts: [
    { id: 'c1', updatedAt: '2024-01-01T00:00:00Z', name: 'Ada' },
    { id: 'c2', updatedAt: '2024-01-02T00:00:00Z', name: 'Grace' },
    { id: 'c3', updatedAt: '2024-01-03T00:00:00Z', name: 'Edsger' },
  ],
};

export const signDemo = (secret: string, body: string | Buffer) =>
  createHmac('sha256', secret).update(body).digest('hex');

export const demoConnector: ConnectorModule<DemoConfig> = {
  system: 'demo',
  family: 'crm',
  configSchema: demoConfigSchema,
  create(config) {
    return {
      async test() {
        if (config.apiKey.startsWith('revoked')) throw new IntegrationError('demo', 'auth', 'API key revoked', 401);
        return { ok: true, message: `connected to ${config.baseUrl}`, latencyMs: 1 };
      },
      async pull(object, cursor) {
        const all = demoSource[object] ?? [];
        const start = cursor === null ? 0 : Number(cursor);
        const records = all.slice(start, start + (config.pageSize ?? 2));
        const next = start + records.length;
        return { records, deletedIds: [], cursor: String(next), done: next >= all.length };
      },
      async push(_object, records) {
        return { upserted: records.length, failed: [] };
      },
      async delete() {},
      async erase() {},
    };
  },
  verifyWebhook(config, request) {
    const signature = request.headers['x-demo-signature'];
    if (!signature) throw new WebhookRejected('missing x-demo-signature header');
    const expected = Buffer.from(signDemo(config.webhookSecret, request.rawBody));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      throw new WebhookRejected('bad signature');
    const body = JSON.parse(request.rawBody.toString('utf8')) as { events?: { id: string; type: string }[] };
    if (!Array.isArray(body.events)) throw new Error('body has no events array');
    return { events: body.events.map((e) => ({ id: String(e.id), type: String(e.type), payload: e })) };
  },
};

/** A demo integration's config: one record per page, so a run has pages to follow (the demo connector calls no URL). */
export const DEMO_CONFIG: DemoConfig = {
  baseUrl: 'http://127.0.0.1:1',
  apiKey: 'key-live-0123456789',
  webhookSecret: 'whsec-abcdefghijkl',
  pageSize: 1,
};

/** The demo connector with a pause of `delayMs` before each page, so progress can be watched. */
export function slowDemoConnector(delayMs: number): ConnectorModule<DemoConfig> {
  return {
    ...demoConnector,
    create(config, context) {
      const inner = demoConnector.create(config, context);
      return {
        ...inner,
        async pull(object, cursor) {
          await new Promise((resolve) => setTimeout(resolve, delayMs));
          return inner.pull(object, cursor);
        },
      };
    },
  };
}
