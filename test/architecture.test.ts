import * as fs from 'fs';
import * as path from 'path';

const root = path.resolve(__dirname, '..');
const SKIP = new Set(['node_modules', 'dist', 'cdktf.out', '.data', '.git', '.gen', 'coverage']);

function sourceFiles(dir: string): string[] {
  const full = path.join(root, dir);
  if (!fs.existsSync(full)) return [];
  return fs.readdirSync(full, { withFileTypes: true }).flatMap((entry) => {
    if (SKIP.has(entry.name)) return [];
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(rel);
    return /\.(ts|js|mjs|cjs)$/.test(entry.name) ? [rel] : [];
  });
}

/** Module specifiers of import/require/import() statements (type-only imports included: they still couple). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.resolve(root, file), 'utf8');
  const specs: string[] = [];
  const patterns = [
    /\bfrom\s+['"]([^'"]+)['"]/g,
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /^\s*import\s+['"]([^'"]+)['"]/gm,
  ];
  for (const pattern of patterns) for (const match of text.matchAll(pattern)) specs.push(match[1]);
  return specs;
}

const INFRA = /^(cdktf|cdktf-cli|constructs|@cdktf\/.*)$/;

test('runtime code never imports cdktf, constructs or a provider package', () => {
  const runtimeDirs = ['services', 'integrations', 'pipelines', 'n8n', 'monitoring'];
  const offenders = runtimeDirs.flatMap(sourceFiles).flatMap((file) =>
    importsOf(file)
      .filter((spec) => INFRA.test(spec))
      .map((spec) => `${file} imports ${spec}`),
  );
  expect(offenders).toEqual([]);
});

test('provider resources are imported by deep path, never through a provider index', () => {
  const files = ['.', 'stacks', 'constructs', 'config', 'test', 'bench', 'scripts'].flatMap((dir) =>
    dir === '.' ? fs.readdirSync(root).filter((f) => /\.ts$/.test(f)) : sourceFiles(dir),
  );
  const offenders = files.flatMap((file) =>
    importsOf(file)
      .filter((spec) => /^@cdktf\/provider-[a-z0-9-]+(\/lib)?\/?$/.test(spec))
      .map((spec) => `${file} imports ${spec}`),
  );
  expect(offenders).toEqual([]);
});

test('the checks above see real imports (they would catch a violation)', () => {
  const probe = path.join(require('os').tmpdir(), `import-probe-${process.pid}.ts`);
  // Assembled from pieces so this file itself does not contain the import it probes.
  fs.writeFileSync(
    probe,
    "import { AwsProvider } from '@cdktf/" + "provider-aws';\nconst x = require('cd" + "ktf');\n",
  );
  try {
    expect(importsOf(probe)).toEqual(['@cdktf/provider-aws', 'cdktf']);
  } finally {
    fs.rmSync(probe);
  }
});
