/**
 * One inbound vendor webhook, from the request to the durable 'webhook' job: the integration lookup
 * and enabled check, the sender's address against the integration's allowlist, the credentials
 * resolved (503 when a referenced variable is unset), the connector's verifier on the raw body, the
 * request-data checks on its events, an audit entry for each rejection, the dedupe key and the enqueue.
 * The Node route (api/routes/webhooks.ts) and the Cloudflare Worker (cloudflare/worker.ts) both answer
 * with what it returns; it uses neither Fastify nor a Node-only API.
 */
import type { Buffer } from 'buffer';
import { createHash } from 'crypto';
import ipaddr from 'ipaddr.js';
import { WebhookRejected, type ConnectorModule } from '@data-sync/integrations/connector';
import type { AuditEntry } from '../store/audit-repository';
import { ApiError, notFound } from '../api/errors';
import { checkedRequestData } from '../api/request-data';
import type { NewJob } from '../queue/binding';
import { EnvRefError } from '../security/env-refs';

export interface WebhookJobPayload {
  readonly events: readonly { id: string; type: string; object?: string; recordId?: string; payload: unknown }[];
  readonly receivedAt: string;
}

/** An integration as webhook ingestion needs it. */
export interface WebhookIntegration {
  readonly name: string;
  readonly system: string;
  readonly enabled: boolean;
  /** CIDRs senders must come from; empty: any address. */
  readonly webhookAllowlist: readonly string[];
  /** The config with credential references resolved: throws EnvRefError naming an unset variable. */
  resolvedConfig(): unknown;
}

export interface WebhookIngestDeps {
  /** The integration named `name`, or null. */
  integration(name: string): Promise<WebhookIntegration | null>;
  readonly connectors: Readonly<Record<string, ConnectorModule>>;
  /** Queues the job durably; resolves with its id. */
  enqueue(job: NewJob): Promise<string>;
  /** Records a rejected delivery in the audit log. */
  audit(entry: AuditEntry): Promise<void>;
  /** @default Date.now */
  readonly now?: () => number;
}

export interface WebhookDelivery {
  /** The integration name from the path. */
  readonly integration: string;
  /** The sender's address (the socket's, or the proxy's client header where it is trusted). */
  readonly clientIp: string;
  readonly method: string;
  /** The full URL the vendor called (verifiers that sign it need it). */
  readonly url: string;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The exact bytes the vendor sent. */
  readonly rawBody: Buffer;
  /** Correlates the audit entry with the request log. @default none */
  readonly requestId?: string;
}

/** What to answer: JSON, or the body the vendor's verifier asked for (a challenge echo). */
export type WebhookAnswer =
  | { readonly status: number; readonly json: unknown; readonly integration: string | null }
  | { readonly status: number; readonly text: string; readonly contentType: string; readonly integration: string };

/** Whether `ip` is inside one of `cidrs` (IPv4-mapped IPv6 addresses count as IPv4). */
export function ipAllowed(ip: string, cidrs: readonly string[]): boolean {
  if (cidrs.length === 0) return true;
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(ip);
  } catch {
    return false;
  }
  return cidrs.some((cidr) => {
    const [range, bits] = ipaddr.parseCIDR(cidr);
    return range.kind() === addr.kind() && addr.match(range as never, bits);
  });
}

/** The same delivery again while the first is still queued is one job: the key hashes its event ids. */
function dedupeKey(name: string, eventIds: readonly string[]): string {
  // node:crypto, synchronous (the Worker has it through nodejs_compat): WebCrypto's digest goes through the
  // thread pool and was a tenth of the webhook route's CPU.
  const digest = createHash('sha256')
    .update([...eventIds].sort().join('\n'))
    .digest('hex');
  return `webhook:${name}:${digest.slice(0, 32)}`;
}

/** The integration's connector and parsed config, or the ApiError to answer (unknown, disabled, misconfigured). */
async function openIntegration(
  deps: WebhookIngestDeps,
  delivery: WebhookDelivery,
  reject: (status: number, reason: string) => Promise<never>,
  found: () => void,
) {
  const name = delivery.integration;
  const integration = await deps.integration(name);
  if (!integration || !integration.enabled) throw notFound('integration', name);
  found();
  if (!ipAllowed(delivery.clientIp, integration.webhookAllowlist))
    await reject(403, `address ${delivery.clientIp} is not in the webhook allowlist of ${name}`);
  const module = deps.connectors[integration.system];
  if (!module)
    throw new ApiError(
      409,
      'no_connector',
      `integration "${name}" uses system "${integration.system}", which has no connector`,
      { system: integration.system },
    );

  let raw: unknown;
  try {
    raw = integration.resolvedConfig();
  } catch (error) {
    if (!(error instanceof EnvRefError)) throw error;
    // The vendor retries a 503; the deployment has to set the variable.
    throw new ApiError(
      503,
      'integration_misconfigured',
      `integration "${name}" cannot verify deliveries: its ${error.message}`,
      { integration: name, variable: error.variable },
    );
  }
  const config = module.configSchema.safeParse(raw);
  if (!config.success) {
    const issues = config.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`);
    throw new ApiError(
      409,
      'invalid_config',
      `integration "${name}" has an invalid ${integration.system} config: ${issues.join('; ')}`,
      { integration: name, issues },
    );
  }
  return { integration, module, config: config.data as unknown };
}

function rejecter(deps: WebhookIngestDeps, delivery: WebhookDelivery) {
  return async (status: number, reason: string): Promise<never> => {
    await deps.audit({
      actor: `webhook:${delivery.clientIp}`,
      action: 'webhook.rejected',
      target: delivery.integration,
      outcome: 'rejected',
      details: { status, reason, ...(delivery.requestId ? { requestId: delivery.requestId } : {}) },
    });
    throw new ApiError(status, status === 403 ? 'forbidden' : 'webhook_rejected', reason, {
      integration: delivery.integration,
    });
  };
}

/**
 * A GET on the webhook route: the vendor confirming the subscription (Meta's hub.challenge, X's CRC,
 * LinkedIn's challenge), answered by the connector's webhookHandshake; 405 for vendors without one.
 */
export async function handshakeWebhook(deps: WebhookIngestDeps, delivery: WebhookDelivery): Promise<WebhookAnswer> {
  const now = deps.now ?? Date.now;
  let known: string | null = null;
  const reject = rejecter(deps, delivery);
  try {
    const { integration, module, config } = await openIntegration(
      deps,
      delivery,
      reject,
      () => (known = delivery.integration),
    );
    if (!module.webhookHandshake)
      throw new ApiError(
        405,
        'method_not_allowed',
        `${integration.system} sends no webhook handshake: deliveries are POSTed`,
        { integration: integration.name },
      );
    let answer;
    try {
      answer = module.webhookHandshake(config, {
        method: delivery.method,
        url: delivery.url,
        headers: delivery.headers,
        rawBody: delivery.rawBody,
        now: now(),
      });
    } catch (error) {
      if (error instanceof WebhookRejected)
        return await reject(error.status >= 400 && error.status < 500 ? error.status : 401, error.reason);
      throw new ApiError(
        400,
        'webhook_invalid',
        `the ${integration.system} handshake could not be read: ${(error as Error).message}`,
        { integration: integration.name },
      );
    }
    return { status: answer.status, text: answer.body, contentType: answer.contentType, integration: integration.name };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return {
      status: error.statusCode,
      json: { error: error.error, message: error.message, details: error.details },
      integration: known,
    };
  }
}

/** Verifies and queues one delivery; answers every client error, throws only on faults (store unreachable). */
export async function ingestWebhook(deps: WebhookIngestDeps, delivery: WebhookDelivery): Promise<WebhookAnswer> {
  const name = delivery.integration;
  const now = deps.now ?? Date.now;
  let known: string | null = null;
  const reject = rejecter(deps, delivery);
  try {
    const { integration, module, config } = await openIntegration(deps, delivery, reject, () => (known = name));
    let verified;
    try {
      verified = module.verifyWebhook(config, {
        method: delivery.method,
        url: delivery.url,
        headers: delivery.headers,
        rawBody: delivery.rawBody,
        now: now(),
      });
    } catch (error) {
      if (error instanceof WebhookRejected)
        return await reject(error.status >= 400 && error.status < 500 ? error.status : 401, error.reason);
      throw new ApiError(
        400,
        'webhook_invalid',
        `the ${integration.system} webhook could not be read: ${(error as Error).message}`,
        { integration: name },
      );
    }

    const events = checkedRequestData(verified.events, `the ${integration.system} webhook`).map((e) => ({
      id: String(e.id),
      type: e.type,
      object: e.object,
      recordId: e.recordId,
      payload: e.payload,
    }));
    let jobId: string | null = null;
    if (events.length > 0) {
      const payload: WebhookJobPayload = { events, receivedAt: new Date(now()).toISOString() };
      // Durable before the answer: the vendor may not deliver again.
      jobId = await deps.enqueue({
        kind: 'webhook',
        integration: name,
        payload,
        dedupeKey: dedupeKey(
          name,
          events.map((e) => e.id),
        ),
      });
    }
    if (verified.response)
      return {
        status: verified.response.status,
        text: verified.response.body,
        contentType: verified.response.contentType,
        integration: name,
      };
    return { status: 202, json: { accepted: events.length, jobId }, integration: name };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return {
      status: error.statusCode,
      json: { error: error.error, message: error.message, details: error.details },
      integration: known,
    };
  }
}
