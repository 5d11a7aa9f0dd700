/**
 * Renders DASHBOARD_PANELS to a Grafana dashboard (JSON model, schemaVersion 39) reading a
 * Prometheus data source chosen through the `datasource` template variable.
 */
import { DASHBOARD_PANELS, DashboardPanel } from './alerts';

export const DASHBOARD_UID = 'data-sync-key-metrics';

/** Grafana unit ids; the success rate is a 0..1 ratio, hence `percentunit`. */
const GRAFANA_UNITS: Record<DashboardPanel['unit'], string> = {
  percent: 'percentunit',
  seconds: 's',
  ops: 'ops',
  count: 'short',
};

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;
const PANEL_WIDTH = 12;
const PANEL_HEIGHT = 8;
const GRID_COLUMNS = 24;

export interface GrafanaPanel {
  id: number;
  type: 'timeseries';
  title: string;
  datasource: typeof DATASOURCE;
  gridPos: { x: number; y: number; w: number; h: number };
  fieldConfig: { defaults: { unit: string; min?: number; max?: number }; overrides: never[] };
  options: {
    legend: { displayMode: 'list'; placement: 'bottom'; showLegend: true };
    tooltip: { mode: 'multi'; sort: 'none' };
  };
  targets: { refId: string; datasource: typeof DATASOURCE; expr: string; legendFormat: string }[];
}

export interface GrafanaDashboard {
  uid: string;
  title: string;
  tags: string[];
  timezone: 'utc';
  schemaVersion: number;
  version: number;
  editable: boolean;
  refresh: string;
  time: { from: string; to: string };
  templating: { list: object[] };
  annotations: { list: object[] };
  panels: GrafanaPanel[];
}

/** Legend text from the labels a panel groups by (`by (le, integration)` -> `{{integration}}`). */
function legendFor(expr: string): string {
  const by = /\bby\s*\(([^)]*)\)/.exec(expr);
  const labels = by
    ? by[1]
        .split(',')
        .map((l) => l.trim())
        .filter((l) => l && l !== 'le')
    : [];
  return labels.length ? labels.map((l) => `{{${l}}}`).join(' ') : '__auto';
}

function grafanaPanel(panel: DashboardPanel, index: number): GrafanaPanel {
  const perRow = GRID_COLUMNS / PANEL_WIDTH;
  const defaults =
    panel.unit === 'percent' ? { unit: GRAFANA_UNITS.percent, min: 0, max: 1 } : { unit: GRAFANA_UNITS[panel.unit] };
  return {
    id: index + 1,
    type: 'timeseries',
    title: panel.title,
    datasource: DATASOURCE,
    gridPos: {
      x: (index % perRow) * PANEL_WIDTH,
      y: Math.floor(index / perRow) * PANEL_HEIGHT,
      w: PANEL_WIDTH,
      h: PANEL_HEIGHT,
    },
    fieldConfig: { defaults, overrides: [] },
    options: {
      legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
      tooltip: { mode: 'multi', sort: 'none' },
    },
    targets: [{ refId: 'A', datasource: DATASOURCE, expr: panel.expr, legendFormat: legendFor(panel.expr) }],
  };
}

/** The "Key Metrics" dashboard for `panels`, by default the whole catalog. */
export function renderGrafanaDashboard(panels: readonly DashboardPanel[] = DASHBOARD_PANELS): GrafanaDashboard {
  return {
    uid: DASHBOARD_UID,
    title: 'Data Sync Service: key metrics',
    tags: ['data-sync'],
    timezone: 'utc',
    schemaVersion: 39,
    version: 1,
    editable: false,
    refresh: '1m',
    time: { from: 'now-6h', to: 'now' },
    templating: {
      list: [
        { name: 'datasource', label: 'Prometheus', type: 'datasource', query: 'prometheus', current: {}, hide: 0 },
      ],
    },
    annotations: { list: [] },
    panels: panels.map(grafanaPanel),
  };
}
