import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { build } from 'esbuild';
import { RUNTIME_NODE_MAJOR } from '@data-sync/config';
import { TEST_DATABASE_URL, describeWithService } from '@data-sync/test-services';
import { scratchDatabase } from '@data-sync/test-services/scratch-database';
import {
  ROOT,
  RUNTIME_IMAGE_COMMAND,
  assembleImage,
  buildRoot,
  copyArgs,
  envOf,
  lastOf,
  readDockerfile,
} from '../support/runtime-image';

const stages = readDockerfile();
const final = stages[stages.length - 1];
const execForm = (args: string): string[] => JSON.parse(args) as string[];
/** The runtime stage's RUN that loads each bundle to fill Node's compile cache. */
const warmUp = () => final.instructions.find((i) => i.keyword === 'RUN' && i.args.includes('dist/runtime/'))!;

/** Builds dist/runtime when a clean clone has not yet (the image's build stage runs the same script). */
beforeAll(async () => {
  if (!fs.existsSync(path.join(ROOT, 'dist/runtime/main.js')))
    await require(path.join(ROOT, 'scripts/build-runtime.js')).buildRuntime({ quiet: true });
}, 180_000);

describe('runtime Dockerfile', () => {
  test("multi-stage: a build stage, then a slim (or distroless) runtime stage on the runtime's Node major", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const major = RUNTIME_NODE_MAJOR;
    expect(final.image).toMatch(
      new RegExp(`^(node:${major}[\\w.-]*-slim|gcr\\.io/distroless/nodejs${major}[\\w.-]*)(@sha256:[0-9a-f]{64})?$`),
    );
    // The build stage too: the bundle is built and its native parts installed on the Node that runs it.
    expect(
      stages.map((stage) => stage.image).filter((image) => !new RegExp(`(node:|nodejs)${major}\\b`).test(image)),
    ).toEqual([]);
  });

  test('the runtime stage runs as a non-root user', () => {
    const user = lastOf(final, 'USER');
    expect(user).toBeDefined();
    expect(user!.split(':')[0]).not.toMatch(/^(root|0)$/);
  });

  test('its command is exactly the command the boot tests start', () => {
    expect(execForm(lastOf(final, 'CMD')!)).toEqual(RUNTIME_IMAGE_COMMAND);
    expect(lastOf(final, 'ENTRYPOINT')).toBeUndefined();
  });

  test('every file the build stage copies from the context exists and .dockerignore lets it through', () => {
    const ignore = fs
      .readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    const copied = stages
      .slice(0, -1)
      .flatMap((s) => s.instructions.filter((i) => i.keyword === 'COPY').flatMap((i) => copyArgs(i).sources));
    expect(copied.length).toBeGreaterThan(0);
    for (const source of copied) {
      expect([source, fs.existsSync(path.join(ROOT, source))]).toEqual([source, true]);
      const throughIgnore = source
        .split('/')
        .some((_, i, parts) => ignore.includes(`!${parts.slice(0, i + 1).join('/')}`));
      expect([source, throughIgnore]).toEqual([source, true]);
    }
  });

  test('the build stage copies every workspace manifest before npm ci, which links the @data-sync packages', () => {
    const instructions = stages[0].instructions;
    const install = instructions.findIndex((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
    const copiedBefore = instructions
      .slice(0, install)
      .filter((i) => i.keyword === 'COPY')
      .flatMap((i) => copyArgs(i).sources);
    const { workspaces } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      workspaces: string[];
    };
    expect(install).toBeGreaterThan(0);
    expect(workspaces.filter((dir) => !copiedBefore.includes(`${dir}/package.json`))).toEqual([]);
  });

  test('the build stage copies every source file the bundles are built from', async () => {
    const copied = stages[0].instructions.filter((i) => i.keyword === 'COPY').flatMap((i) => copyArgs(i).sources);
    const { ENTRIES } = require(path.join(ROOT, 'scripts/build-runtime.js')) as { ENTRIES: Record<string, string> };
    const entries = [...Object.values(ENTRIES), 'services/sync-runtime/src/cloudflare/entry.ts'].map((f) =>
      path.join(ROOT, f),
    );
    const result = await build({
      entryPoints: entries,
      bundle: true,
      platform: 'node',
      write: false,
      metafile: true,
      outdir: os.tmpdir(),
      external: ['@electric-sql/pglite', 'pg-native'],
      logLevel: 'silent',
      absWorkingDir: ROOT,
    });
    const sources = Object.keys(result.metafile.inputs).filter((f) => !f.includes('node_modules'));
    const uncovered = sources.filter((f) => !copied.some((c) => f === c || f.startsWith(`${c.replace(/\/$/, '')}/`)));
    expect(uncovered).toEqual([]);
  });

  test("Node's compile cache is warmed for every bundle the image holds, after USER, so it carries the containers' user id", () => {
    expect(envOf(final).NODE_COMPILE_CACHE).toMatch(new RegExp(`^${lastOf(final, 'WORKDIR')}/`));
    const user = final.instructions.map((i) => i.keyword).lastIndexOf('USER');
    const warm = warmUp();
    expect(final.instructions.indexOf(warm)).toBeGreaterThan(user);
    const held = final.instructions
      .filter((i) => i.keyword === 'COPY')
      .flatMap((i) => copyArgs(i).sources)
      .flatMap((source) => /\/dist\/runtime\/(\w+)\.js$/.exec(source)?.[1] ?? []);
    expect(held.length).toBeGreaterThan(1);
    expect(/for bundle in ([\w ]+); do/.exec(warm.args)![1].split(' ').sort()).toEqual(held.sort());
  });

  test('every file the runtime stage copies from the build stage exists after npm run build', () => {
    const src = buildRoot(stages, final.instructions.map((i) => copyArgs(i).from).find(Boolean)!);
    for (const instruction of final.instructions.filter((i) => i.keyword === 'COPY')) {
      for (const source of copyArgs(instruction).sources)
        expect([source, fs.existsSync(path.join(ROOT, path.relative(src, source)))]).toEqual([source, true]);
    }
  });
});

/** The Node the image runs (its base's major), installed into a cache: this machine's own Node may be older. */
const { installNode } = require(path.join(ROOT, 'scripts/install-node.js')) as {
  installNode(major: number): string;
};

describeWithService('runtime image file system', TEST_DATABASE_URL, () => {
  const database = scratchDatabase('runtime_image');
  let dir: string;
  let imageNode: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runtime-image-'));
    imageNode = installNode(RUNTIME_NODE_MAJOR);
    await database.create();
  }, 180_000);
  afterAll(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    await database.drop();
  });

  test('the compile-cache warm-up loads every bundle from the image files alone, and the command then starts from that cache', () => {
    const app = assembleImage(path.join(dir, 'warm'));
    const cache = path.join(dir, 'compile-cache');
    const env = { PATH: `${path.dirname(imageNode)}:${process.env.PATH}`, NODE_COMPILE_CACHE: cache };
    const run = spawnSync('/bin/sh', ['-c', warmUp().args], { cwd: app, env, encoding: 'utf8' });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    // The command's bundle, loaded from WORKDIR on the image's Node, is compiled from that cache.
    const [, bundle] = RUNTIME_IMAGE_COMMAND;
    const start = spawnSync(imageNode, ['-e', `require('./${bundle}')`], {
      cwd: app,
      env: { ...env, NODE_DEBUG_NATIVE: 'COMPILE_CACHE' },
      encoding: 'utf8',
    });
    expect(start.stderr).toMatch(
      new RegExp(`V8 code cache for CommonJS \\S*/${bundle.replace(/\//g, '\\/')} was accepted`),
    );
  });

  test('the command starts from the image files alone (no repository, no node_modules beyond what is copied): /health, /health/ready, /docs and /console answer, and HEALTHCHECK passes', async () => {
    const app = assembleImage(path.join(dir, 'fs'));
    const dataDir = path.join(dir, 'data');
    const env = {
      PATH: process.env.PATH,
      ...envOf(final),
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_SYNC_DATA_DIR: dataDir,
      DATABASE_URL: database.url,
      DATA_SYNC_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
      LOG_LEVEL: 'warn',
    };
    const [command, ...args] = RUNTIME_IMAGE_COMMAND;
    const child = spawn(command === 'node' ? imageNode : command, args, {
      cwd: app,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (c) => {
          stdout += c;
          const match = /listening on (http:\/\/\S+) /.exec(stdout);
          if (match) resolve(match[1]);
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${stdout}\n${stderr}`)));
      });
      for (const route of ['/health', '/health/ready', '/docs/static/index.html', '/console', '/console/console.js'])
        expect([route, (await fetch(`${url}${route}`)).status]).toEqual([route, 200]);
      expect(stderr).not.toContain('swagger-ui assets not found');
      const healthcheck = execForm(lastOf(final, 'HEALTHCHECK')!.replace(/^.*?CMD /, ''));
      const probe = spawnSync(imageNode, healthcheck.slice(1), {
        env: { PATH: process.env.PATH, PORT: new URL(url).port },
        encoding: 'utf8',
      });
      expect(probe.status).toBe(0);
      const refused = spawnSync(imageNode, healthcheck.slice(1), {
        env: { PATH: process.env.PATH, PORT: '1' },
        encoding: 'utf8',
      });
      expect(refused.status).toBe(1);
    } finally {
      child.kill('SIGTERM');
    }
  }, 120_000);
});
