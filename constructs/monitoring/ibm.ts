import { Construct } from 'constructs';
import { ALERT_RULES, type AlertRule, DASHBOARD_PANELS, type DashboardPanel } from '@data-sync/monitoring/alerts';
import {
  IbmResourceInstance,
  SysdigMonitorAlertV2Prometheus,
  SysdigMonitorDashboard,
  SysdigMonitorNotificationChannelEmail,
  SysdigProvider,
} from '../providers/ibm';

/**
 * IBM Cloud Monitoring's Prometheus remote-write endpoint in `region` (public ingestion endpoint): the
 * runtime sends its metrics there itself, as nothing scrapes a Code Engine app's /metrics.
 */
export const ibmRemoteWriteUrl = (region: string) =>
  `https://ingest.prws.${region}.monitoring.cloud.ibm.com/prometheus/remote/write`;

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
