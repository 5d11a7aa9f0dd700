import { Healthcheck } from '@cdktf/provider-cloudflare/lib/healthcheck';
import { NotificationPolicy } from '@cdktf/provider-cloudflare/lib/notification-policy';
import { Construct } from 'constructs';
import { ALERT_RULES } from '@data-sync/monitoring/alerts';

/**
 * Alert rules Cloudflare cannot evaluate, with the reason. Notification policies only know
 * Cloudflare's own events (health checks, HTTP error rates, ...): nothing reads a Worker's metrics
 * or a queue's backlog. The runtime still exports these series on `/metrics`; the Prometheus rule
 * file (monitoring/generated) evaluates them where a Prometheus scrapes the Worker.
 */
export const CLOUDFLARE_ALERT_EXCEPTIONS: Readonly<Record<string, string>> = {
  HighSyncFailureRate:
    'sync run outcomes are runtime metrics; Cloudflare notification policies cannot alert on a Worker\u2019s own metrics',
  APIRateLimitApproaching:
    'vendor rate-limit headroom is a runtime metric; Cloudflare notification policies cannot alert on a Worker\u2019s own metrics',
  DeadLetterQueueNotEmpty: 'Cloudflare Queues exposes no backlog or dead-letter alert type to notification policies',
  SyncLagging:
    'last-success timestamps are runtime metrics; Cloudflare notification policies cannot alert on a Worker\u2019s own metrics',
  N8nQueueBacklog:
    'n8n runs outside Cloudflare (an external origin behind Access): its queue metrics are scraped where it runs, not by a notification policy',
};

export interface CloudflareMonitoringProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  readonly accountId: string;
  readonly zoneId: string;
  /** Address that receives alert notifications. */
  readonly alertEmail: string;
  /** Runtime hostname (its `/health` is checked). */
  readonly runtimeHost: string;
  /** The n8n origin host (its `/healthz` is checked); @default none: n8n is disabled, nothing checked */
  readonly n8nOriginHost?: string;
}

/**
 * Cloudflare notification policies for the rules Cloudflare can observe: health checks of the
 * runtime (DataSyncRuntimeDown) and of the n8n origin (N8nDown), and the zone's HTTP 5xx error rate
 * (WebhookErrorRate, zone-wide). Every other rule is in CLOUDFLARE_ALERT_EXCEPTIONS with its reason.
 */
export class CloudflareMonitoring extends Construct {
  /** By alert rule name. */
  readonly policies: Readonly<Record<string, NotificationPolicy>>;
  /** Rules not alerted on here, with the reason: CLOUDFLARE_ALERT_EXCEPTIONS, and N8nDown when n8n is disabled. */
  readonly exceptions: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: CloudflareMonitoringProps) {
    super(scope, id);
    const email = [{ id: props.alertEmail }];
    const rule = (name: string) => {
      const found = ALERT_RULES.find((r) => r.name === name);
      if (!found) throw new Error(`no alert rule named ${name} in monitoring/alerts.ts`);
      return found;
    };
    const healthAlert = (ruleName: string, check: string, address: string, path: string) => {
      const healthcheck = new Healthcheck(this, `check-${check}`, {
        zoneId: props.zoneId,
        name: `${props.prefix}-${check}`,
        address,
        type: 'HTTPS',
        httpConfig: { method: 'GET', path, port: 443, expectedCodes: ['200'], followRedirects: false },
        interval: 60,
        retries: 2,
        timeout: 5,
        consecutiveFails: Math.max(1, Math.round(rule(ruleName).forSeconds / 60)),
        consecutiveSuccesses: 1,
        checkRegions: ['WNAM', 'ENAM', 'WEU'],
      });
      return new NotificationPolicy(this, `alert-${ruleName}`, {
        accountId: props.accountId,
        name: `${props.prefix} ${ruleName}`,
        description: `${rule(ruleName).summary} (runbook: ${rule(ruleName).runbook})`,
        alertType: 'health_check_status_notification',
        enabled: true,
        filters: { healthCheckId: [healthcheck.id], status: ['Unhealthy'] },
        mechanisms: { email },
      });
    };
    this.policies = {
      DataSyncRuntimeDown: healthAlert('DataSyncRuntimeDown', 'runtime', props.runtimeHost, '/health'),
      ...(props.n8nOriginHost ? { N8nDown: healthAlert('N8nDown', 'n8n', props.n8nOriginHost, '/healthz') } : {}),
      WebhookErrorRate: new NotificationPolicy(this, 'alert-WebhookErrorRate', {
        accountId: props.accountId,
        name: `${props.prefix} WebhookErrorRate`,
        description: `${rule('WebhookErrorRate').summary}: the zone's edge 5xx error rate (runbook: ${rule('WebhookErrorRate').runbook})`,
        alertType: 'http_alert_edge_error',
        enabled: true,
        filters: { zones: [props.zoneId], slo: ['99.9'] },
        mechanisms: { email },
      }),
    };
    this.exceptions = {
      ...CLOUDFLARE_ALERT_EXCEPTIONS,
      ...(props.n8nOriginHost
        ? {}
        : { N8nDown: 'n8n is disabled in this environment (enableN8nWorkflows=false): there is no origin to check' }),
    };
    const covered = new Set([...Object.keys(this.policies), ...Object.keys(this.exceptions)]);
    const missing = ALERT_RULES.filter((r) => !covered.has(r.name)).map((r) => r.name);
    if (missing.length > 0)
      throw new Error(
        `Cloudflare monitoring: alert rules neither alerted on nor excepted with a reason: ${missing.join(', ')}`,
      );
  }
}
