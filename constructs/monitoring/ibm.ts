import { Construct } from 'constructs';
import { ALERT_RULES, type AlertRule, DASHBOARD_PANELS, type DashboardPanel } from '@data-sync/monitoring/alerts';
import { catalogSeries, type MetricDefinition } from '@data-sync/monitoring/metrics';
import { REMOTE_WRITE_RELAY_ENV } from '@data-sync/monitoring/remote-write-relay';
import {
  IbmCodeEngineConfigMap,
  IbmCodeEngineJob,
  IbmCodeEngineJobRun,
  IbmResourceInstance,
  SysdigMonitorAlertV2Prometheus,
  SysdigMonitorDashboard,
  SysdigMonitorNotificationChannelEmail,
  SysdigProvider,
} from '../providers/ibm';
import { REGISTRY_SECRET, codeEngineSize } from '../runtime/ibm';
import { relayScript } from './relay-script';

/**
 * IBM Cloud Monitoring's Prometheus remote-write endpoint in `region` (public ingestion endpoint): the
 * runtime sends its metrics there itself, as nothing scrapes a Code Engine app's /metrics.
 */
export const ibmRemoteWriteUrl = (region: string) =>
  `https://ingest.prws.${region}.monitoring.cloud.ibm.com/prometheus/remote/write`;

/** Where the relay job mounts its script's config map. */
export const IBM_METRICS_RELAY_DIR = '/relay';
const RELAY_FILE = 'metrics-relay.js';
/** Seconds between two scrapes: two points in each minute the alerts evaluate, as the runtime pushes. */
export const IBM_METRICS_INTERVAL_SECONDS = 30;

export interface IbmMetricsRelayProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  readonly projectId: string;
  /** An image with Node.js 20 or later on its PATH (the runtime image), pulled with the registry secret. */
  readonly image: string;
  /** The /metrics page to scrape (n8n main's endpoint). */
  readonly scrapeUrl: string;
  /** Catalog metrics to send; every other series of the page is left out. */
  readonly metrics: readonly MetricDefinition[];
  /** The `instance` label of what it sends (the scraped app's name). */
  readonly instance: string;
  readonly region: string;
  /** The Code Engine secret holding DATA_SYNC_METRICS_REMOTE_WRITE_TOKEN; only that key is given to the job. */
  readonly tokenSecretName: string;
}

/**
 * A relay for an app that cannot push its metrics itself (n8n's main): a one-instance daemon job running
 * monitoring/remote-write-relay.ts (mounted from a config map) on the runtime image, which scrapes the app's
 * /metrics every 30 seconds and remote-writes the catalog's series to IBM Cloud Monitoring.
 */
export class IbmMetricsRelay extends Construct {
  readonly job: InstanceType<typeof IbmCodeEngineJob>;

  constructor(scope: Construct, id: string, props: IbmMetricsRelayProps) {
    super(scope, id);
    const script = new IbmCodeEngineConfigMap(this, 'script', {
      project_id: props.projectId,
      name: `${props.prefix}-metrics-relay`,
      data: { [RELAY_FILE]: relayScript('remote-write-relay', 'runRemoteWriteRelay') },
    });
    const size = codeEngineSize(128, 256);
    const env = REMOTE_WRITE_RELAY_ENV;
    this.job = new IbmCodeEngineJob(this, 'job', {
      project_id: props.projectId,
      name: `${props.prefix}-metrics-relay`,
      image_reference: props.image,
      image_secret: REGISTRY_SECRET,
      run_arguments: ['node', `${IBM_METRICS_RELAY_DIR}/${RELAY_FILE}`],
      run_mode: 'daemon',
      run_env_variables: [
        ...Object.entries({
          [env.scrapeUrl]: props.scrapeUrl,
          [env.url]: ibmRemoteWriteUrl(props.region),
          [env.instance]: props.instance,
          [env.series]: [...catalogSeries(props.metrics)].join(','),
          [env.intervalSeconds]: String(IBM_METRICS_INTERVAL_SECONDS),
        }).map(([name, value]) => ({ type: 'literal' as const, name, value })),
        { type: 'secret_key_reference', name: env.token, reference: props.tokenSecretName, key: env.token },
      ],
      run_volume_mounts: [{ mount_path: IBM_METRICS_RELAY_DIR, reference: script.attr('name'), type: 'config_map' }],
      scale_array_spec: '0',
      scale_cpu_limit: size.cpu,
      scale_memory_limit: size.memory,
    });
    new IbmCodeEngineJobRun(this, 'run', {
      project_id: props.projectId,
      name: `${props.prefix}-metrics-relay-daemon`,
      job_name: this.job.attr('name'),
      run_mode: 'daemon',
    });
  }
}

/** Cloud Logs keeps data for one of these numbers of days. */
const CLOUD_LOGS_RETENTION = [7, 14, 30, 60, 90] as const;
/** The smallest Cloud Logs retention that keeps logs at least `days`. */
export const cloudLogsRetention = (days: number) => CLOUD_LOGS_RETENTION.find((d) => d >= days) ?? 90;

const UNIT: Record<DashboardPanel['unit'], 'percent' | 'time' | 'number rate' | 'number'> = {
  percent: 'percent',
  seconds: 'time',
  ops: 'number rate',
  count: 'number',
};

export interface IbmMonitoringProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  readonly region: string;
  readonly resourceGroupId: string;
  readonly alertEmail: string;
  readonly logRetentionDays: number;
  /** Alert rules to render; @default ALERT_RULES */
  readonly rules?: readonly AlertRule[];
  /** Dashboard panels to render; @default DASHBOARD_PANELS */
  readonly panels?: readonly DashboardPanel[];
}

/**
 * Alerts and dashboards on IBM Cloud: IBM Cloud Monitoring evaluates PromQL, so every alert rule's
 * own `expr` becomes a Prometheus alert and every panel's `expr` a dashboard query (through the
 * sysdiglabs/sysdig provider pointed at this stack's Monitoring instance); Cloud Logs keeps logs for
 * the environment's retention.
 */
export class IbmMonitoring extends Construct {
  readonly instance: InstanceType<typeof IbmResourceInstance>;
  readonly alerts = new Map<string, InstanceType<typeof SysdigMonitorAlertV2Prometheus>>();
  readonly channel: InstanceType<typeof SysdigMonitorNotificationChannelEmail>;
  readonly dashboard: InstanceType<typeof SysdigMonitorDashboard>;

  constructor(scope: Construct, id: string, props: IbmMonitoringProps) {
    super(scope, id);
    this.instance = new IbmResourceInstance(this, 'monitoring', {
      name: `${props.prefix}-monitoring`,
      service: 'sysdig-monitor',
      plan: 'graduated-tier',
      location: props.region,
      resource_group_id: props.resourceGroupId,
    });
    new IbmResourceInstance(this, 'logs', {
      name: `${props.prefix}-logs`,
      service: 'logs',
      plan: 'standard',
      location: props.region,
      resource_group_id: props.resourceGroupId,
      parameters: { retention_period: cloudLogsRetention(props.logRetentionDays) },
    });
    // Provider settings may only use values known at plan time on the first apply: apply the
    // Monitoring instance first (`-target`), then the rest (see the stack README section).
    new SysdigProvider(this, 'sysdig', {
      sysdig_monitor_url: `https://${props.region}.monitoring.cloud.ibm.com`,
      ibm_monitor_iam_url: 'https://iam.cloud.ibm.com',
      ibm_monitor_instance_id: this.instance.attr('guid'),
    });
    const channel = (this.channel = new SysdigMonitorNotificationChannelEmail(this, 'email', {
      name: `${props.prefix}-alerts`,
      recipients: [props.alertEmail],
      enabled: true,
      notify_when_ok: true,
    }));
    for (const rule of props.rules ?? ALERT_RULES) {
      this.alerts.set(
        rule.name,
        new SysdigMonitorAlertV2Prometheus(this, rule.name, {
          name: `${props.prefix}-${rule.name}`,
          description: `${rule.summary}. ${rule.description} Runbook: ${rule.runbook}`,
          severity: rule.severity === 'critical' ? 'high' : 'medium',
          query: rule.expr,
          trigger_after_minutes: Math.max(1, Math.round(rule.forSeconds / 60)),
          group: 'data-sync',
          notification_channels: [{ id: channel.id, type: 'EMAIL' }],
        }),
      );
    }
    this.dashboard = new SysdigMonitorDashboard(this, 'dashboard', {
      name: `${props.prefix} key metrics`,
      description: 'Data sync key metrics (monitoring/alerts.ts DASHBOARD_PANELS)',
      panel: (props.panels ?? DASHBOARD_PANELS).map((panel, i) => ({
        pos_x: (i % 2) * 12,
        pos_y: Math.floor(i / 2) * 6,
        width: 12,
        height: 6,
        type: 'timechart',
        name: panel.title,
        query: [{ promql: panel.expr, unit: UNIT[panel.unit] }],
      })),
    });
  }
}
