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

/** The workspace packages (root package.json `workspaces`), each with its manifest's internal dependencies. */
interface Workspace {
  dir: string;
  name: string;
  dependencies: string[];
  devDependencies: string[];
}

function workspaces(): Workspace[] {
  const rootManifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { workspaces: string[] };
  return rootManifest.workspaces.map((dir) => {
    const manifest = JSON.parse(fs.readFileSync(path.join(root, dir, 'package.json'), 'utf8'));
    const internal = (deps: Record<string, string> = {}) =>
      Object.keys(deps).filter((name) => name.startsWith('@data-sync/'));
    return {
      dir,
      name: manifest.name,
      dependencies: internal(manifest.dependencies),
      devDependencies: internal(manifest.devDependencies),
    };
  });
}

function workspaceOf(file: string, all: Workspace[]): Workspace | undefined {
  return [...all]
    .sort((a, b) => b.dir.length - a.dir.length)
    .find((ws) => file === ws.dir || file.startsWith(`${ws.dir}/`));
}

/**
 * Test code may use a package's devDependencies; production code only its dependencies. The demo is test
 * code too: the runtime loads it by dynamic import only under DATA_SYNC_DEMO, and no production bundle holds it.
 */
function isTestCode(file: string): boolean {
  return /\.test\.ts$|\.fixture\.ts$|\/(test|testing|contract)\/|^services\/sync-runtime\/src\/demo\.ts$/.test(file);
}

test('no relative import leaves its package: other packages are imported by name', () => {
  const all = workspaces();
  const offenders = sourceFiles('.').flatMap((file) =>
    importsOf(file)
      .filter((spec) => spec.startsWith('.'))
      .filter(
        (spec) =>
          workspaceOf(path.posix.join(path.posix.dirname(file), spec), all)?.dir !== workspaceOf(file, all)?.dir,
      )
      .map((spec) => `${file} imports ${spec}`),
  );
  expect(offenders).toEqual([]);
});

test('each package imports only the packages its manifest declares, and the dependencies form no cycle', () => {
  const all = workspaces();
  const offenders = sourceFiles('.').flatMap((file) => {
    const ws = workspaceOf(file, all);
    if (!ws) return [];
    const allowed = new Set([ws.name, ...ws.dependencies, ...(isTestCode(file) ? ws.devDependencies : [])]);
    return importsOf(file)
      .map((spec) => /^@data-sync\/[a-z0-9-]+/.exec(spec)?.[0])
      .filter((name): name is string => name !== undefined && !allowed.has(name))
      .map(
        (name) => `${file} (${ws.name}${isTestCode(file) ? ', test code' : ''}) imports ${name}, not in its manifest`,
      );
  });
  expect(offenders).toEqual([]);

  const byName = new Map(all.map((ws) => [ws.name, ws]));
  const visiting = new Set<string>();
  const done = new Set<string>();
  const cycles: string[] = [];
  const visit = (name: string, trail: string[]) => {
    if (done.has(name)) return;
    if (visiting.has(name)) return void cycles.push([...trail, name].join(' -> '));
    visiting.add(name);
    for (const dep of byName.get(name)?.dependencies ?? []) visit(dep, [...trail, name]);
    visiting.delete(name);
    done.add(name);
  };
  for (const ws of all) visit(ws.name, []);
  expect(cycles).toEqual([]);
});

test('every dependency a manifest declares is used', () => {
  const all = workspaces();
  const used = new Map(all.map((ws) => [ws.name, new Set<string>()]));
  for (const file of sourceFiles('.')) {
    const ws = workspaceOf(file, all);
    for (const spec of ws ? importsOf(file) : []) {
      const name = /^@data-sync\/[a-z0-9-]+/.exec(spec)?.[0];
      if (name) used.get(ws!.name)!.add(name);
    }
  }
  const unused = all.flatMap((ws) =>
    [...ws.dependencies, ...ws.devDependencies]
      .filter((dep) => !used.get(ws.name)!.has(dep))
      .map((dep) => `${ws.name} declares ${dep}`),
  );
  expect(unused).toEqual([]);
});

test('the package checks see real imports (a climb out of a package and an undeclared package are caught)', () => {
  const all = workspaces();
  const file = 'pipelines/probe.ts';
  const climb = '../services/sync-runtime/src/engine/engine';
  expect(workspaceOf(path.posix.join(path.posix.dirname(file), climb), all)?.name).toBe('@data-sync/sync-runtime');
  expect(workspaceOf(file, all)?.dependencies).not.toContain('@data-sync/sync-runtime');
  expect(isTestCode('pipelines/batch.ts')).toBe(false);
  expect(isTestCode('pipelines/batch.test.ts')).toBe(true);
});

const CLOUD_FILES = ['aws', 'gcp', 'azure', 'cloudflare', 'oci', 'ibm'];

/** Imports in a construct file that reach another cloud's file (`../schedules/gcp` from `schedules/azure.ts`). */
function crossCloudImports(file: string, specs: readonly string[]): string[] {
  const own = path.basename(file).replace(/\.(ts|js)$/, '');
  const neutral = !CLOUD_FILES.includes(own);
  return specs.filter((spec) => {
    if (!spec.startsWith('.')) return neutral && /^@cdktf\/provider-/.test(spec);
    const target = path.basename(spec).replace(/\.(ts|js)$/, '');
    return CLOUD_FILES.includes(target) && target !== own;
  });
}

test("no cloud's construct imports another cloud's, and cloud-neutral construct modules import no cloud", () => {
  const offenders = sourceFiles('constructs').flatMap((file) =>
    crossCloudImports(file, importsOf(file)).map((spec) => `${file} imports ${spec}`),
  );
  expect(offenders).toEqual([]);
});

test('the cross-cloud check catches a cloud file importing another cloud, a shared module importing a provider', () => {
  const azureImports = ['./gcp', '../runtime/azure', '../shared/schedule'];
  expect(crossCloudImports('constructs/schedules/azure.ts', azureImports)).toEqual(['./gcp']);
  const sharedImports = ['@cdktf/provider-aws/lib/iam-role', '../runtime/oci', 'cdktf'];
  const fromShared = crossCloudImports('constructs/shared/schedule.ts', sharedImports);
  expect(fromShared).toEqual(['@cdktf/provider-aws/lib/iam-role', '../runtime/oci']);
});
