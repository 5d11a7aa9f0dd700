/**
 * The Prometheus text exposition (version 0.0.4) read into samples: what the OCI relay posts and what
 * the remote write (remote-write.ts) sends both start from a /metrics page or a prom-client registry's text.
 */
/** One sample of the Prometheus text format. */
export interface PrometheusSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const ESCAPES: Readonly<Record<string, string>> = { n: '\n', '\\': '\\', '"': '"' };
/** The format's spellings Number() does not read. */
const SPECIAL_VALUES: Readonly<Record<string, number>> = { '+Inf': Infinity, '-Inf': -Infinity, NaN };

/** The labels of `{a="x",b="y"}` starting at `line[start]` (the `{`), and the index after the `}`. */
function parseLabels(line: string, start: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  for (;;) {
    while (line[i] === ' ' || line[i] === ',') i++;
    if (line[i] === '}') return { labels, end: i + 1 };
    const eq = line.indexOf('=', i);
    if (eq < 0 || line[eq + 1] !== '"') throw new Error(`malformed labels: ${line}`);
    const name = line.slice(i, eq).trim();
    let value = '';
    for (i = eq + 2; line[i] !== '"'; i++) {
      if (i >= line.length) throw new Error(`unterminated label value: ${line}`);
      if (line[i] === '\\') value += ESCAPES[line[++i]] ?? `\\${line[i]}`;
      else value += line[i];
    }
    labels[name] = value;
    i++;
  }
}

/** The samples of a Prometheus text exposition (version 0.0.4), comments and TYPE/HELP lines skipped. */
export function parsePrometheusText(text: string): PrometheusSample[] {
  const samples: PrometheusSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.indexOf(' ');
    const { name, labels, rest } =
      brace >= 0 && (space < 0 || brace < space)
        ? (() => {
            const parsed = parseLabels(line, brace);
            return { name: line.slice(0, brace), labels: parsed.labels, rest: line.slice(parsed.end) };
          })()
        : {
            name: line.slice(0, space < 0 ? line.length : space),
            labels: {},
            rest: space < 0 ? '' : line.slice(space),
          };
    const [value] = rest.trim().split(/\s+/);
    samples.push({ name, labels, value: SPECIAL_VALUES[value] ?? Number(value) });
  }
  return samples;
}
