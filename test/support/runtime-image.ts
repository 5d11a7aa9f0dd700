/**
 * The runtime image as the Dockerfile describes it, for tests that cannot run Docker here: its
 * stages, the final stage's command, environment and files, and that file system assembled in a
 * directory from the repository (the build stage's /src is the repository after `npm run build`).
 */
import * as fs from 'fs';
import * as path from 'path';

export const ROOT = path.resolve(__dirname, '../..');
/** The command the image starts and every boot test runs: the container bundle, from WORKDIR. */
export const RUNTIME_IMAGE_COMMAND: readonly string[] = ['node', 'dist/runtime/main.js'];

export interface DockerInstruction {
  readonly keyword: string;
  /** Arguments after the keyword, continuation lines joined. */
  readonly args: string;
}

export interface DockerStage {
  readonly image: string;
  readonly name?: string;
  readonly instructions: readonly DockerInstruction[];
}

/** Instructions grouped by stage; comments and the syntax directive dropped, `\` continuations joined. */
export function parseDockerfile(text: string): DockerStage[] {
  const logical = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const stages: { image: string; name?: string; instructions: DockerInstruction[] }[] = [];
  for (const line of logical) {
    const [, keyword, args] = /^(\S+)\s*(.*)$/.exec(line)!;
    const upper = keyword.toUpperCase();
    if (upper === 'FROM') {
      const [image, as, name] = args.split(/\s+/);
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else {
      if (!stages.length) throw new Error(`Dockerfile: ${upper} before the first FROM`);
      stages[stages.length - 1].instructions.push({ keyword: upper, args: args.replace(/\s+/g, ' ').trim() });
    }
  }
  return stages;
}

/** COPY's sources and destination, flags (`--from=`, `--chown=`) apart. */
export function copyArgs(instruction: DockerInstruction): { from?: string; sources: string[]; destination: string } {
  const words = instruction.args.split(' ');
  const flags = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  return {
    from: flags.find((f) => f.startsWith('--from='))?.slice('--from='.length),
    sources: paths.slice(0, -1),
    destination: paths[paths.length - 1],
  };
}

/** ENV in both forms (`ENV A=1 B=2` and `ENV A 1`). */
export function envOf(stage: DockerStage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { keyword, args } of stage.instructions) {
    if (keyword !== 'ENV') continue;
    if (!args.includes('=')) {
      const [name, ...rest] = args.split(' ');
      env[name] = rest.join(' ');
      continue;
    }
    for (const [, name, value] of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g))
      env[name] = value.replace(/^"|"$/g, '');
  }
  return env;
}

/** The last value of a single-valued instruction (WORKDIR, USER, CMD), or undefined. */
export function lastOf(stage: DockerStage, keyword: string): string | undefined {
  return stage.instructions.filter((i) => i.keyword === keyword).pop()?.args;
}

export function readDockerfile(): DockerStage[] {
  return parseDockerfile(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
}

/** Where the build stage keeps the repository (its WORKDIR). */
export function buildRoot(stages: readonly DockerStage[], name: string): string {
  const stage = stages.find((s) => s.name === name);
  if (!stage) throw new Error(`Dockerfile: no stage named ${name}`);
  return lastOf(stage, 'WORKDIR') ?? '/';
}

/**
 * Copies the final stage's `COPY --from=<build stage>` files from the repository into `dir`, at their
 * paths under the final WORKDIR; returns the final stage's WORKDIR inside `dir`.
 */
export function assembleImage(dir: string, stages: readonly DockerStage[] = readDockerfile()): string {
  const final = stages[stages.length - 1];
  const workdir = lastOf(final, 'WORKDIR') ?? '/';
  const appDir = path.join(dir, workdir);
  fs.mkdirSync(appDir, { recursive: true });
  for (const instruction of final.instructions.filter((i) => i.keyword === 'COPY')) {
    const { from, sources, destination } = copyArgs(instruction);
    if (!from)
      throw new Error(
        `Dockerfile: the runtime stage copies from the build context (${instruction.args}); only built files belong there`,
      );
    const src = buildRoot(stages, from);
    for (const source of sources) {
      const inRepo = path.join(ROOT, path.relative(src, source));
      if (!fs.existsSync(inRepo))
        throw new Error(
          `Dockerfile: COPY --from=${from} ${source} does not exist after npm run build (${path.relative(ROOT, inRepo)})`,
        );
      const into = path.isAbsolute(destination) ? path.join(dir, destination) : path.join(appDir, destination);
      // As Docker does: a destination ending in `/` (required with several sources) is a folder to copy into.
      const target = destination.endsWith('/') ? path.join(into, path.basename(source)) : into;
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.cpSync(fs.realpathSync(inRepo), target, { recursive: true, dereference: true });
    }
  }
  return appDir;
}
