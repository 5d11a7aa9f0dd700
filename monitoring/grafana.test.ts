import { DASHBOARD_PANELS } from './alerts';
import { DASHBOARD_UID, renderGrafanaDashboard } from './grafana';

describe('renderGrafanaDashboard', () => {
  const dashboard = renderGrafanaDashboard();

  test('renders one Prometheus panel per catalog panel, in order, with the catalog PromQL', () => {
    expect(dashboard.uid).toBe(DASHBOARD_UID);
    expect(dashboard.panels.map((p) => p.title)).toEqual(DASHBOARD_PANELS.map((p) => p.title));
    expect(dashboard.panels.map((p) => p.targets[0].expr)).toEqual(DASHBOARD_PANELS.map((p) => p.expr));
    for (const panel of dashboard.panels) {
      expect(panel.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(panel.targets[0].datasource).toEqual(panel.datasource);
    }
    expect(dashboard.templating.list).toEqual([
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    ]);
  });

  test('panel ids are unique and grid positions never overlap', () => {
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    const cells = new Set<string>();
    for (const { gridPos } of dashboard.panels) {
      expect(gridPos.x + gridPos.w).toBeLessThanOrEqual(24);
      for (let x = gridPos.x; x < gridPos.x + gridPos.w; x++) {
        for (let y = gridPos.y; y < gridPos.y + gridPos.h; y++) {
          expect(cells.has(`${x},${y}`)).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  test('units map to Grafana units and ratios are bounded to 0..1', () => {
    const byTitle = Object.fromEntries(dashboard.panels.map((p) => [p.title, p.fieldConfig.defaults]));
    expect(byTitle['Sync success rate']).toEqual({ unit: 'percentunit', min: 0, max: 1 });
    expect(byTitle['Sync duration p95'].unit).toBe('s');
    expect(byTitle['Records throughput'].unit).toBe('ops');
    expect(byTitle['Queue depth'].unit).toBe('short');
  });

  test('legends name the grouping labels except the histogram bucket', () => {
    const legend = Object.fromEntries(dashboard.panels.map((p) => [p.title, p.targets[0].legendFormat]));
    expect(legend['Sync duration p95']).toBe('{{integration}}');
    expect(legend['External API errors']).toBe('{{integration}} {{code}}');
    expect(legend['Sync success rate']).toBe('__auto');
  });

  test('covers the design document key metrics', () => {
    const titles = dashboard.panels.map((p) => p.title.toLowerCase()).join('\n');
    for (const topic of [
      'success rate',
      'duration',
      'throughput',
      'latency',
      'errors',
      'quota',
      'validation',
      'duplicate',
      'queue depth',
      'workflow execution',
    ]) {
      expect(titles).toContain(topic);
    }
  });
});
