import * as fs from 'fs';
import * as path from 'path';
import { ALERT_RULES, DASHBOARD_PANELS } from './alerts';
import { METRIC_LIST } from './metrics';
import { catalogMetricFor, metricNamesIn } from './promql';
import { renderGrafanaDashboard } from './grafana';
import { renderPrometheusRules } from './prometheus';
import { parse } from 'yaml';

const root = path.resolve(__dirname, '..');

/** Every PromQL expression that reaches Prometheus or Grafana, from the rendered artifacts. */
function renderedExpressions(): { source: string; expr: string }[] {
  const rules = parse(renderPrometheusRules()).groups.flatMap(
    (g: { rules: { alert: string; expr: string }[] }) => g.rules,
  );
  const panels = renderGrafanaDashboard().panels.flatMap((p) =>
    p.targets.map((t) => ({ source: `panel "${p.title}"`, expr: t.expr })),
  );
  return [
    ...rules.map((r: { alert: string; expr: string }) => ({ source: `alert ${r.alert}`, expr: r.expr })),
    ...panels,
  ];
}

describe('monitoring catalog', () => {
  test('every metric an alert or dashboard panel selects is one the runtime defines', () => {
    const expressions = renderedExpressions();
    expect(expressions.length).toBe(ALERT_RULES.length + DASHBOARD_PANELS.length);
    const undefinedMetrics = expressions.flatMap(({ source, expr }) =>
      metricNamesIn(expr)
        .filter((name) => !catalogMetricFor(name))
        .map((name) => `${source}: ${name}`),
    );
    expect(undefinedMetrics).toEqual([]);
    for (const { expr } of expressions) expect(metricNamesIn(expr).length).toBeGreaterThan(0);
  });

  test('label names in matchers and groupings belong to the metric they filter', () => {
    const problems: string[] = [];
    for (const { source, expr } of renderedExpressions()) {
      for (const [, series, matchers] of expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/g)) {
        const metric = catalogMetricFor(series);
        for (const [, label] of matchers.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)) {
          if (!metric?.labels.includes(label)) problems.push(`${source}: ${series} has no label ${label}`);
        }
      }
      const known = new Set(metricNamesIn(expr).flatMap((name) => catalogMetricFor(name)?.labels ?? []));
      for (const [, list] of expr.matchAll(/\b(?:by|on)\s*\(([^)]*)\)/g)) {
        for (const label of list
          .split(',')
          .map((l) => l.trim())
          .filter(Boolean)) {
          if (label !== 'le' && !known.has(label)) problems.push(`${source}: no selected metric has label ${label}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test("each rule's structured condition names the metrics its PromQL selects", () => {
    for (const rule of ALERT_RULES) {
      const selected = metricNamesIn(rule.expr);
      expect(selected).toContain(rule.condition.metric);
      if (rule.condition.kind === 'staleness') expect(selected).toContain(rule.condition.relativeTo);
    }
    for (const panel of DASHBOARD_PANELS) {
      expect(metricNamesIn(panel.expr).map((name) => catalogMetricFor(name)?.name)).toContain(panel.metric);
    }
  });

  test('metric and alert names are unique and metric names are data_sync_ prefixed', () => {
    const metricNames = METRIC_LIST.map((m) => m.name);
    expect(new Set(metricNames).size).toBe(metricNames.length);
    for (const name of metricNames) expect(name).toMatch(/^data_sync_[a-z0-9_]+$/);
    expect(new Set(ALERT_RULES.map((r) => r.name)).size).toBe(ALERT_RULES.length);
  });

  test('every alert links a runbook that exists and has a section for it, listed in the runbook index', () => {
    expect(ALERT_RULES.map((r) => r.runbook).filter((file) => !fs.existsSync(path.join(root, file)))).toEqual([]);
    const index = fs.readFileSync(path.join(root, 'docs/runbooks/README.md'), 'utf8');
    for (const rule of ALERT_RULES) {
      const page = fs.readFileSync(path.join(root, rule.runbook), 'utf8');
      expect({ alert: rule.name, section: page.split('\n').includes(`## ${rule.name}`) }).toEqual({
        alert: rule.name,
        section: true,
      });
      expect(index).toContain(
        `| ${rule.name} | ${rule.severity} | [${path.basename(rule.runbook)}](${path.basename(rule.runbook)}#${rule.name.toLowerCase()}) |`,
      );
    }
  });
});
