import { CloudflareEventBus } from '../constructs/events/cloudflare';
import { CloudflareProvider } from '@cdktf/provider-cloudflare/lib/provider';
import type { WorkersScriptBindings } from '@cdktf/provider-cloudflare/lib/workers-script';
import { TerraformVariable } from 'cdktf';
import type { Construct } from 'constructs';
import { SLOTS, type StackSettings } from '@data-sync/config';
import { CloudflareDatabase } from '../constructs/database/cloudflare';
import { CloudflareMonitoring } from '../constructs/monitoring/cloudflare';
import { CloudflareN8nAccess, N8N_ON_WORKERS_EXCEPTION } from '../constructs/n8n/cloudflare';
import { CloudflareQueue } from '../constructs/queue/cloudflare';
import { CloudflareRateLimitState, CloudflareRuntime } from '../constructs/runtime/cloudflare';
import { CloudflareSchedules, cloudflareCronMap } from '../constructs/schedules/cloudflare';
import { CloudflareWorkerSecrets } from '../constructs/secrets/cloudflare';
import { CloudflareConsumer } from '../constructs/worker/cloudflare';
import { DataSyncStack } from './data-sync-stack';
import { addressOf } from '../constructs/shared/address';

/**
 * Secrets the Workers read besides the integration credentials (the database goes through
 * Hyperdrive): the field-encryption keyring, the operator token the trigger route accepts, the
 * integrations' connector settings (JSON), and the n8n API key when n8n is enabled.
 */
export const CLOUDFLARE_RUNTIME_SECRETS = [
  'DATA_SYNC_ENCRYPTION_KEY',
  'API_TOKEN',
  'INTEGRATIONS',
  'N8N_API_KEY',
] as const;

/**
 * The Cloudflare composition: the runtime as two Worker scripts with a route switch (blue-green), a
 * queue consumer Worker with a dead-letter queue, Cron Triggers, a RateLimiter Durable Object,
 * Hyperdrive in front of PostgreSQL, notification policies, and the external n8n origin behind
 * Cloudflare Access (n8n itself cannot run on Workers).
 */
export class CloudflareStack extends DataSyncStack {
  constructor(scope: Construct, settings: StackSettings) {
    super(scope, settings);
    const { env, prefix } = settings;
    const variable = (
      name: string,
      description: string,
      extra: { default?: string | number; sensitive?: boolean; type?: string } = {},
    ) =>
      new TerraformVariable(this, name, {
        type: extra.type ?? 'string',
        description,
        default: extra.default,
        sensitive: extra.sensitive,
        nullable: false,
      });
    const accountId = variable('cloudflare_account_id', 'Cloudflare account id').stringValue;
    const zoneId = variable('cloudflare_zone_id', 'Zone the runtime and n8n hostnames live in').stringValue;
    const zoneName = variable('cloudflare_zone_name', 'Name of that zone, e.g. example.com').stringValue;
    // The API token comes from CLOUDFLARE_API_TOKEN in the environment, never from the configuration.
    new CloudflareProvider(this, 'cloudflare', {});

    const queue = new CloudflareQueue(this, 'queue', { prefix, accountId });
    const events = new CloudflareEventBus(this, 'events', { prefix, accountId });
    const database = new CloudflareDatabase(this, 'database', {
      prefix,
      accountId,
      origin: {
        host: variable('database_host', 'PostgreSQL host Hyperdrive connects to').stringValue,
        port: variable('database_port', 'PostgreSQL port', { type: 'number', default: 5432 }).numberValue,
        database: variable('database_name', 'PostgreSQL database', { default: 'data_sync' }).stringValue,
        user: variable('database_user', 'PostgreSQL user', { default: 'data_sync' }).stringValue,
      },
      password: variable('database_password', 'PostgreSQL password (pass TF_VAR_database_password; never commit it)', {
        sensitive: true,
      }).stringValue,
    });
    const state = new CloudflareRateLimitState(this, 'rate-limits', { prefix, accountId });
    const n8n = settings.features.enableN8nWorkflows
      ? new CloudflareN8nAccess(this, 'n8n', {
          prefix,
          accountId,
          zoneId,
          zoneName,
          originHost: variable('n8n_origin_host', 'Hostname of the external n8n origin (n8n cannot run on Workers)')
            .stringValue,
          allowedEmailDomain: variable(
            'access_email_domain',
            'Email domain whose users may open the n8n editor through Cloudflare Access',
          ).stringValue,
        })
      : undefined;
    const shared: WorkersScriptBindings[] = [
      { type: 'queue', name: 'JOBS', queueName: queue.queue.queueName },
      ...events.bindings,
      state.binding(),
      database.binding(),
      { type: 'plain_text', name: 'DATA_SYNC_ENVIRONMENT', text: env.name },
      { type: 'plain_text', name: 'LOG_LEVEL', text: 'info' },
      ...(n8n ? [{ type: 'plain_text', name: 'N8N_URL', text: `https://${n8n.hostname}` }] : []),
    ];
    const runtime = new CloudflareRuntime(this, 'runtime', {
      prefix,
      accountId,
      zoneId,
      zoneName,
      versions: settings.imageTags,
      activeSlot: settings.activeSlot,
      deploymentSlot: settings.deploymentSlot,
      bindings: shared,
    });
    this.exposeEndpoints(runtime);
    const consumer = new CloudflareConsumer(this, 'worker', {
      prefix,
      accountId,
      queue,
      maxDeliveries: env.maxReceiveCount,
      retryDelaySeconds: 60,
      version: settings.imageTags[settings.activeSlot],
      deployCode: settings.deploymentSlot === settings.activeSlot,
      bindings: [
        ...shared,
        { type: 'json', name: 'SCHEDULES', json: JSON.stringify(cloudflareCronMap(settings.integrations)) },
      ],
    });
    const schedules =
      settings.integrations.length > 0
        ? new CloudflareSchedules(this, 'schedules', {
            accountId,
            scriptName: consumer.script.scriptName,
            integrations: settings.integrations,
          })
        : undefined;
    const credentials = settings.integrations.flatMap((i) => i.credentials);
    new CloudflareWorkerSecrets(this, 'secrets', {
      accountId,
      scripts: [...SLOTS.map((slot) => `${prefix}-runtime-${slot}`), `${prefix}-consumer`],
      names: [...credentials, ...CLOUDFLARE_RUNTIME_SECRETS.filter((name) => n8n || name !== 'N8N_API_KEY')],
    });
    const monitoring = new CloudflareMonitoring(this, 'monitoring', {
      prefix,
      accountId,
      zoneId,
      alertEmail: env.alertEmail,
      runtimeHost: runtime.hostname,
      n8nOriginHost: n8n?.originHost,
    });

    this.provide('api', addressOf(runtime.scripts[settings.activeSlot]));
    this.provide('webhooks', addressOf(runtime.activeRoute));
    this.provide('queue', addressOf(queue.queue));
    this.provide('deadLetters', addressOf(queue.deadLetterQueue));
    this.provide('worker', addressOf(consumer.consumer));
    if (schedules) this.provide('schedules', addressOf(schedules.trigger));
    else this.except('schedules', 'no integration is enabled in this environment, so there is nothing to schedule');
    // Worker secrets are set out of band and kept by keep_bindings; the scripts are what carries them.
    this.provide('secrets', addressOf(runtime.scripts[settings.activeSlot]));
    this.provide('database', addressOf(database.hyperdrive));
    this.except('n8n', N8N_ON_WORKERS_EXCEPTION);
    this.provide('alerts', addressOf(monitoring.policies.DataSyncRuntimeDown));
    this.except(
      'dashboards',
      'Cloudflare has no dashboard resource: Workers and Queues analytics are built into the dashboard, and the Key Metrics panels need a Prometheus/Grafana that scrapes the Worker',
    );
    this.provide('blueGreen', addressOf(runtime.activeRoute));
    this.provide('eventBus', addressOf(events.queues.notifications));
  }
}
