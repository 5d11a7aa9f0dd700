/**
 * Writes the generated monitoring artifacts beside the catalog so operators can load them without
 * running TypeScript: the Prometheus rule file and the Grafana dashboard. A test fails when they are
 * stale. Run: npx tsx monitoring/write-artifacts.ts [outdir]
 */
import * as fs from 'fs';
import * as path from 'path';
import { renderGrafanaDashboard } from './grafana';
import { renderPrometheusRules } from './prometheus';

export const GENERATED_DIR = path.join(__dirname, 'generated');
export const RULES_FILE = 'data-sync.rules.yml';
export const DASHBOARD_FILE = 'grafana-dashboard.json';

/** Artifact file name -> content. */
export function renderArtifacts(): Record<string, string> {
  return {
    [RULES_FILE]: renderPrometheusRules(),
    [DASHBOARD_FILE]: `${JSON.stringify(renderGrafanaDashboard(), null, 2)}\n`,
  };
}

/** Writes every artifact into `outdir`; returns the paths written. */
export function writeArtifacts(outdir: string = GENERATED_DIR): string[] {
  fs.mkdirSync(outdir, { recursive: true });
  return Object.entries(renderArtifacts()).map(([name, content]) => {
    const file = path.join(outdir, name);
    fs.writeFileSync(file, content);
    return file;
  });
}

if (require.main === module) {
  for (const file of writeArtifacts(process.argv[2] ? path.resolve(process.argv[2]) : GENERATED_DIR))
    console.log(path.relative(process.cwd(), file));
}
