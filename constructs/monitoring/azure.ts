import { MonitorActionGroup } from '@cdktf/provider-azurerm/lib/monitor-action-group';
import { MonitorAlertPrometheusRuleGroup } from '@cdktf/provider-azurerm/lib/monitor-alert-prometheus-rule-group';
import { MonitorDataCollectionEndpoint } from '@cdktf/provider-azurerm/lib/monitor-data-collection-endpoint';
import { MonitorDataCollectionRule } from '@cdktf/provider-azurerm/lib/monitor-data-collection-rule';
import { MonitorMetricAlert } from '@cdktf/provider-azurerm/lib/monitor-metric-alert';
import { MonitorWorkspace } from '@cdktf/provider-azurerm/lib/monitor-workspace';
import { PortalDashboard } from '@cdktf/provider-azurerm/lib/portal-dashboard';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { Construct } from 'constructs';
import { ALERT_RULES, DASHBOARD_PANELS, type AlertRule, type DashboardPanel } from '@data-sync/monitoring/alerts';
import { RULE_GROUP } from '@data-sync/monitoring/prometheus';
import type { AzureMetricsSink } from '../runtime/azure';

export interface AzureMetricsWorkspaceProps {
  /** Resource name prefix, e.g. `ds-prod`. */
  readonly prefix: string;
  readonly resourceGroupName: string;
  readonly location: string;
  /** Principal (object) id and client id of the identity whose sidecars publish metrics. */
  readonly publisher: { readonly principalId: string; readonly clientId: string };
}

/**
 * Azure Monitor workspace (managed Prometheus) with a data collection endpoint and rule that accept
 * Prometheus remote write, and the publisher grant (Monitoring Metrics Publisher on the rule only).
 */
export class AzureMetricsWorkspace extends Construct {
  readonly workspace: MonitorWorkspace;
  readonly rule: MonitorDataCollectionRule;
  readonly publisherGrant: RoleAssignment;
  /** Where the runtime's Prometheus agent writes. */
  readonly sink: AzureMetricsSink;

  constructor(scope: Construct, id: string, props: AzureMetricsWorkspaceProps) {
    super(scope, id);
    const base = { resourceGroupName: props.resourceGroupName, location: props.location };
    this.workspace = new MonitorWorkspace(this, 'workspace', { ...base, name: `${props.prefix}-prometheus` });
    const endpoint = new MonitorDataCollectionEndpoint(this, 'endpoint', {
      ...base,
      name: `${props.prefix}-metrics`,
      kind: 'Linux',
    });
    this.rule = new MonitorDataCollectionRule(this, 'rule', {
      ...base,
      name: `${props.prefix}-prometheus`,
      kind: 'Linux',
      dataCollectionEndpointId: endpoint.id,
      destinations: { monitorAccount: [{ monitorAccountId: this.workspace.id, name: 'workspace' }] },
      dataFlow: [{ streams: ['Microsoft-PrometheusMetrics'], destinations: ['workspace'] }],
      dataSources: { prometheusForwarder: [{ name: 'remote-write', streams: ['Microsoft-PrometheusMetrics'] }] },
    });
    this.publisherGrant = new RoleAssignment(this, 'publisher', {
      scope: this.rule.id,
      roleDefinitionName: 'Monitoring Metrics Publisher',
      principalId: props.publisher.principalId,
      principalType: 'ServicePrincipal',
    });
    this.sink = {
      remoteWriteUrl: `${endpoint.metricsIngestionEndpoint}/dataCollectionRules/${this.rule.immutableId}/streams/Microsoft-PrometheusMetrics/api/v1/write?api-version=2023-04-24`,
      clientId: props.publisher.clientId,
    };
  }
}

/** ISO 8601 duration of whole seconds: 300 -> PT5M, 90 -> PT90S. */
export function isoDuration(seconds: number): string {
  return seconds % 60 === 0 ? `PT${seconds / 60}M` : `PT${seconds}S`;
}

/** Azure alert severity: 0 critical ... 4 verbose. */
const SEVERITY: Record<AlertRule['severity'], number> = { critical: 0, warning: 2 };

/** Portal dashboard properties: native Service Bus charts, then one tile per Key Metrics panel with its PromQL. */
export function azureDashboardProperties(
  panels: readonly DashboardPanel[],
  links: { readonly namespaceId: string; readonly workspaceId: string; readonly queue: string },
): string {
  const chart = (title: string, metric: string) => ({
    type: 'Extension/HubsExtension/PartType/MonitorChartPart',
    inputs: [
      {
        name: 'options',
        value: {
          chart: {
            title,
            metrics: [
              {
                resourceMetadata: { id: links.namespaceId },
                name: metric,
                aggregationType: 4,
                namespace: 'microsoft.servicebus/namespaces',
                metricVisualization: { displayName: metric },
              },
            ],
            filterCollection: { filters: [{ key: 'EntityName', operator: 0, values: [links.queue] }] },
            visualization: { chartType: 2 },
          },
        },
      },
    ],
  });
  const tile = (panel: DashboardPanel) => ({
    type: 'Extension/HubsExtension/PartType/MarkdownPart',
    inputs: [],
    settings: {
      content: {
        settings: {
          title: panel.title,
          subtitle: `${panel.metric} (${panel.unit})`,
          content: `PromQL on the Azure Monitor workspace ([open Prometheus explorer](https://portal.azure.com/#resource${links.workspaceId}/prometheusExplorer)):\n\n\`${panel.expr}\``,
        },
      },
    },
  });
  const parts = [
    chart('Dead-lettered jobs', 'DeadletteredMessages'),
    chart('Queued jobs', 'ActiveMessages'),
    ...panels.map(tile),
  ];
  return JSON.stringify({
    lenses: {
      '0': {
        order: 0,
        parts: Object.fromEntries(
          parts.map((metadata, i) => [
            String(i),
            { position: { x: (i % 2) * 6, y: Math.floor(i / 2) * 4, colSpan: 6, rowSpan: 4 }, metadata },
          ]),
        ),
      },
    },
    metadata: {
      model: {
        timeRange: {
          value: { relative: { duration: 24, timeUnit: 1 } },
          type: 'MsPortalFx.Composition.Configuration.ValueTypes.TimeRange',
        },
      },
    },
  });
}

export interface AzureMonitoringProps {
  /** Resource name prefix, e.g. `ds-prod`. */
  readonly prefix: string;
  readonly resourceGroupName: string;
  readonly location: string;
  /** Address that receives alert notifications. */
  readonly alertEmail: string;
  /** The Azure Monitor workspace the runtime's metrics land in. */
  readonly metrics: AzureMetricsWorkspace;
  /** Service Bus namespace id and queue name watched natively. */
  readonly serviceBus: { readonly namespaceId: string; readonly queue: string };
  /** Queued jobs that raise a backlog alert (default 1000). */
  readonly backlogThreshold?: number;
  readonly rules?: readonly AlertRule[];
  readonly panels?: readonly DashboardPanel[];
}

/**
 * An email action group; every ALERT_RULES entry as a rule of one Prometheus rule group on the
 * Azure Monitor workspace; Service Bus metric alerts for dead-lettered jobs and backlog; and the
 * Key Metrics portal dashboard.
 */
export class AzureMonitoring extends Construct {
  readonly actionGroup: MonitorActionGroup;
  readonly ruleGroup: MonitorAlertPrometheusRuleGroup;
  readonly metricAlerts: readonly MonitorMetricAlert[];
  readonly dashboard: PortalDashboard;

  constructor(scope: Construct, id: string, props: AzureMonitoringProps) {
    super(scope, id);
    const base = { resourceGroupName: props.resourceGroupName };
    this.actionGroup = new MonitorActionGroup(this, 'alerts', {
      ...base,
      name: `${props.prefix}-alerts`,
      shortName: props.prefix.replace(/[^A-Za-z0-9]/g, '').slice(0, 12),
      emailReceiver: [{ name: 'on-call', emailAddress: props.alertEmail, useCommonAlertSchema: true }],
    });
    this.ruleGroup = new MonitorAlertPrometheusRuleGroup(this, 'rules', {
      ...base,
      location: props.location,
      name: `${props.prefix}-${RULE_GROUP}`,
      description: 'Generated from monitoring/alerts.ts',
      interval: 'PT1M',
      ruleGroupEnabled: true,
      scopes: [props.metrics.workspace.id],
      rule: (props.rules ?? ALERT_RULES).map((rule) => ({
        alert: rule.name,
        enabled: true,
        expression: rule.expr,
        for: isoDuration(rule.forSeconds),
        severity: SEVERITY[rule.severity],
        labels: { severity: rule.severity, service: 'data-sync' },
        annotations: { summary: rule.summary, description: rule.description, runbook_url: rule.runbook },
        action: [{ actionGroupId: this.actionGroup.id }],
        alertResolution: { autoResolved: true, timeToResolve: 'PT10M' },
      })),
    });
    const metricAlert = (name: string, metric: string, threshold: number, description: string) =>
      new MonitorMetricAlert(this, name, {
        ...base,
        name: `${props.prefix}-${name}`,
        description,
        scopes: [props.serviceBus.namespaceId],
        severity: 2,
        frequency: 'PT1M',
        windowSize: 'PT5M',
        criteria: [
          {
            metricNamespace: 'Microsoft.ServiceBus/namespaces',
            metricName: metric,
            aggregation: 'Maximum',
            operator: 'GreaterThan',
            threshold,
            dimension: [{ name: 'EntityName', operator: 'Include', values: [props.serviceBus.queue] }],
          },
        ],
        action: [{ actionGroupId: this.actionGroup.id }],
      });
    this.metricAlerts = [
      metricAlert(
        'dead-letters',
        'DeadletteredMessages',
        0,
        'Jobs exhausted their deliveries and wait in the dead-letter subqueue (runbook: docs/runbooks/dead-letter-replay.md)',
      ),
      metricAlert(
        'backlog',
        'ActiveMessages',
        props.backlogThreshold ?? 1000,
        'The worker is not keeping up with the queue',
      ),
    ];
    this.dashboard = new PortalDashboard(this, 'dashboard', {
      ...base,
      location: props.location,
      name: `${props.prefix}-key-metrics`,
      dashboardProperties: azureDashboardProperties(props.panels ?? DASHBOARD_PANELS, {
        namespaceId: props.serviceBus.namespaceId,
        workspaceId: props.metrics.workspace.id,
        queue: props.serviceBus.queue,
      }),
    });
  }
}
