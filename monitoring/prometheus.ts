/**
 * Renders ALERT_RULES to a Prometheus rule file, the file `promtool check rules` and
 * `promtool test rules` read (monitoring/generated/data-sync.rules.yml, written by write-artifacts.ts).
 */
import { stringify } from 'yaml';
import { ALERT_RULES, AlertRule } from './alerts';

/** Name of the single rule group; promtool unit tests refer to alerts by name, not group. */
export const RULE_GROUP = 'data-sync';

/** `300` -> `5m`, `90` -> `90s`, `7200` -> `2h`: Prometheus duration syntax. */
export function promDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 0)
    throw new Error(`duration must be a whole number of seconds, got ${seconds}`);
  if (seconds === 0) return '0s';
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** One rule of the rule file, as Prometheus spells it. */
export function prometheusRule(rule: AlertRule) {
  return {
    alert: rule.name,
    expr: rule.expr,
    for: promDuration(rule.forSeconds),
    labels: { severity: rule.severity, service: 'data-sync' },
    annotations: { summary: rule.summary, description: rule.description, runbook_url: rule.runbook },
  };
}

/** The rule file (YAML) for `rules`, by default the whole catalog. */
export function renderPrometheusRules(rules: readonly AlertRule[] = ALERT_RULES): string {
  const names = new Set<string>();
  for (const rule of rules) {
    if (names.has(rule.name)) throw new Error(`duplicate alert name ${rule.name}`);
    names.add(rule.name);
  }
  const header =
    '# Generated from monitoring/alerts.ts by monitoring/write-artifacts.ts: edit the catalog, not this file.\n';
  return header + stringify({ groups: [{ name: RULE_GROUP, rules: rules.map(prometheusRule) }] }, { lineWidth: 0 });
}
