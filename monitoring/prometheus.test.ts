import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse } from 'yaml';
import { ALERT_RULES, AlertRule } from './alerts';
import { promDuration, renderPrometheusRules } from './prometheus';
import { DASHBOARD_FILE, GENERATED_DIR, RULES_FILE, renderArtifacts } from './write-artifacts';

const RULE_TESTS_DIR = path.join(__dirname, 'rules');
const ruleTestFiles = () =>
  fs
    .readdirSync(RULE_TESTS_DIR)
    .filter((f) => f.endsWith('.test.yml'))
    .sort();

interface PromtoolTestFile {
  rule_files: string[];
  tests: { name: string; alert_rule_test?: { alertname: string; eval_time: string; exp_alerts?: unknown[] }[] }[];
}

describe('renderPrometheusRules', () => {
  test('renders one alerting rule per catalog entry with severity, for and runbook', () => {
    const file = parse(renderPrometheusRules());
    expect(file.groups).toHaveLength(1);
    const rules = file.groups[0].rules;
    expect(rules.map((r: { alert: string }) => r.alert)).toEqual(ALERT_RULES.map((r) => r.name));
    const failureRate = rules.find((r: { alert: string }) => r.alert === 'HighSyncFailureRate');
    expect(failureRate).toMatchObject({
      for: '5m',
      labels: { severity: 'warning' },
      annotations: { runbook_url: 'docs/runbooks/sync-failures.md' },
    });
    expect(rules.find((r: { alert: string }) => r.alert === 'APIRateLimitApproaching')).toMatchObject({
      for: '1m',
      labels: { severity: 'critical' },
    });
  });

  test('refuses two rules with one name', () => {
    expect(() => renderPrometheusRules([ALERT_RULES[0], ALERT_RULES[0]])).toThrow(
      /duplicate alert name HighSyncFailureRate/,
    );
  });

  test('promDuration writes Prometheus durations and rejects fractions', () => {
    expect([0, 45, 60, 90, 300, 3600, 5400].map(promDuration)).toEqual(['0s', '45s', '1m', '90s', '5m', '1h', '90m']);
    expect(() => promDuration(1.5)).toThrow(/whole number of seconds/);
  });

  test('the committed artifacts in monitoring/generated match the catalog (run monitoring/write-artifacts.ts)', () => {
    for (const [name, content] of Object.entries(renderArtifacts())) {
      expect(fs.readFileSync(path.join(GENERATED_DIR, name), 'utf8')).toBe(content);
    }
    expect(Object.keys(renderArtifacts()).sort()).toEqual([DASHBOARD_FILE, RULES_FILE].sort());
  });

  test('every alert has promtool unit tests with a firing and a quiet case', () => {
    const cases = new Map<string, { firing: number; quiet: number }>();
    for (const file of ruleTestFiles()) {
      const content = parse(fs.readFileSync(path.join(RULE_TESTS_DIR, file), 'utf8')) as PromtoolTestFile;
      expect(content.rule_files).toEqual([`../generated/${RULES_FILE}`]);
      for (const t of content.tests) {
        for (const check of t.alert_rule_test ?? []) {
          const entry = cases.get(check.alertname) ?? { firing: 0, quiet: 0 };
          if ((check.exp_alerts ?? []).length > 0) entry.firing++;
          else entry.quiet++;
          cases.set(check.alertname, entry);
        }
      }
    }
    for (const rule of ALERT_RULES) {
      expect({ alert: rule.name, ...cases.get(rule.name) }).toEqual({
        alert: rule.name,
        firing: expect.any(Number),
        quiet: expect.any(Number),
      });
      expect(cases.get(rule.name)!.firing).toBeGreaterThan(0);
      expect(cases.get(rule.name)!.quiet).toBeGreaterThan(0);
    }
    expect([...cases.keys()].filter((name) => !ALERT_RULES.some((r) => r.name === name))).toEqual([]);
  });
});

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const promtoolMissing = promtool.error !== undefined || promtool.status !== 0;
const INSTALL_HINT = 'install it with: apt-get update && apt-get install -y --no-install-recommends prometheus';

/** Writes `rules` rendered plus the unit tests into a temp tree laid out like monitoring/, returns it. */
function stage(rules: readonly AlertRule[] = ALERT_RULES): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'data-sync-promtool-'));
  fs.mkdirSync(path.join(dir, 'generated'));
  fs.mkdirSync(path.join(dir, 'rules'));
  fs.writeFileSync(path.join(dir, 'generated', RULES_FILE), renderPrometheusRules(rules));
  for (const file of ruleTestFiles()) fs.copyFileSync(path.join(RULE_TESTS_DIR, file), path.join(dir, 'rules', file));
  return dir;
}

function run(args: string[], cwd: string) {
  const result = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const describePromtool = promtoolMissing ? (process.env.REQUIRE_SERVICES === '1' ? describe : describe.skip) : describe;
if (promtoolMissing)
  console.warn(
    `promtool is not on PATH: ${process.env.REQUIRE_SERVICES === '1' ? 'failing' : 'skipping'} the promtool checks; ${INSTALL_HINT}`,
  );

describePromtool('promtool', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));
  const staged = (rules?: readonly AlertRule[]) => {
    if (promtoolMissing) throw new Error(`promtool is required (REQUIRE_SERVICES=1); ${INSTALL_HINT}`);
    const dir = stage(rules);
    dirs.push(dir);
    return dir;
  };

  test('check rules accepts the rendered rule file', () => {
    const dir = staged();
    const result = run(['check', 'rules', path.join('generated', RULES_FILE)], dir);
    expect(result.output).toContain(`SUCCESS: ${ALERT_RULES.length} rules found`);
    expect(result.status).toBe(0);
  });

  test('check rules rejects invalid PromQL', () => {
    const dir = staged([{ ...ALERT_RULES[0], expr: 'sum(rate(data_sync_sync_runs_total[5m]) > ' }]);
    expect(run(['check', 'rules', path.join('generated', RULES_FILE)], dir).status).not.toBe(0);
  });

  test('test rules: every unit test in monitoring/rules passes against the rendered rules', () => {
    const dir = staged();
    const files = ruleTestFiles().map((f) => path.join('rules', f));
    const result = run(['test', 'rules', ...files], dir);
    expect(result.output).not.toContain('FAILED');
    expect(result.status).toBe(0);
    expect(result.output.match(/SUCCESS/g)).toHaveLength(files.length);
  });

  test('test rules catches a changed threshold and a replica-unsafe join', () => {
    const rules = ALERT_RULES.map((rule) => {
      if (rule.name === 'HighSyncFailureRate') return { ...rule, expr: rule.expr.replace(/> 0\.1$/, '> 0.5') };
      if (rule.name === 'SyncLagging')
        return {
          ...rule,
          expr: '(time() - data_sync_last_success_timestamp_seconds) > on (integration) (2 * data_sync_sync_interval_seconds)',
        };
      return rule;
    });
    const dir = staged(rules);
    const result = run(
      ['test', 'rules', path.join('rules', 'HighSyncFailureRate.test.yml'), path.join('rules', 'SyncLagging.test.yml')],
      dir,
    );
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/HighSyncFailureRate[\s\S]*FAILED/);
    expect(result.output).toMatch(/many-to-(one|many) matching/);
  });
});
