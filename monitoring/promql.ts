/**
 * Just enough PromQL reading to list the metric names an expression selects, so a test can hold
 * every alert and dashboard to the metrics the runtime defines. Not a full parser: it removes what
 * can never be a metric name (strings, label matchers, ranges, label lists, numbers, durations after
 * `offset`/`@`) and keeps the identifiers that are not functions, aggregations or keywords.
 */
import { METRIC_LIST, MetricDefinition } from './metrics';
import { N8N_METRIC_LIST } from './n8n-metrics';

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
  'start',
  'end',
]);
const LABEL_LIST = /\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g;

/** Metric names `expr` selects, in order of first appearance, without duplicates. */
export function metricNamesIn(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  const stripped = withoutStrings
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(LABEL_LIST, ' ')
    .replace(/#.*$/gm, ' ');
  const names: string[] = [];
  const token = /([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?[a-zA-Z]*)|([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?|(\S)/g;
  let previous = '';
  for (let match = token.exec(stripped); match; match = token.exec(stripped)) {
    const [, number, identifier, call] = match;
    if (number !== undefined) {
      previous = number;
      continue;
    }
    if (identifier === undefined) {
      previous = match[0];
      continue;
    }
    const isDuration = previous === 'offset' || previous === '@';
    if (!call && !isDuration && !KEYWORDS.has(identifier.toLowerCase()) && !names.includes(identifier))
      names.push(identifier);
    previous = identifier;
  }
  return names;
}

const HISTOGRAM_SERIES = /_(bucket|sum|count)$/;

/**
 * The catalog metric a selected series name belongs to: the metric itself, or for a histogram its
 * `_bucket`, `_sum` and `_count` series. Undefined when neither the runtime nor n8n (n8n-metrics.ts) defines it.
 */
export function catalogMetricFor(
  series: string,
  catalog: readonly MetricDefinition[] = [...METRIC_LIST, ...N8N_METRIC_LIST],
): MetricDefinition | undefined {
  const exact = catalog.find((metric) => metric.name === series);
  if (exact) return exact;
  const base = series.replace(HISTOGRAM_SERIES, '');
  return base === series ? undefined : catalog.find((metric) => metric.name === base && metric.type === 'histogram');
}
