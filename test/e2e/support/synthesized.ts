/**
 * The stacks as `npm run synth` writes them: the app is synthesized once per test process into a
 * folder of its own, and tests read what each stack gives the runtime from the JSON on disk.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildApp } from '../../../app';

let outdir: string | undefined;

/** The synthesized `cdk.tf.json` of `data-sync-<cloud>-<environment>`. */
export function synthesizedStack(cloud: string, environment = 'dev'): any {
  if (!outdir) {
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-cdktf-'));
    buildApp({ context: { environment }, outdir }).app.synth();
  }
  return JSON.parse(
    fs.readFileSync(path.join(outdir, 'stacks', `data-sync-${cloud}-${environment}`, 'cdk.tf.json'), 'utf8'),
  );
}

/** The resource of `type` whose logical name starts with `prefix` (cdktf adds a hash). */
export function resource(stack: any, type: string, prefix: string): any {
  const all = stack.resource?.[type] ?? {};
  const name = Object.keys(all).find((k) => k.startsWith(prefix));
  if (!name) throw new Error(`no ${type} named ${prefix}* in the stack (has ${Object.keys(all).join(', ') || 'none'})`);
  return all[name];
}

/** `value` with every Terraform reference `${...}` replaced by what `resolve` gives for it (deployment-time values). */
export function resolveReferences(value: string, resolve: (reference: string) => string): string {
  return value.replace(/\$\{([^}]+)\}/g, (_, reference: string) => resolve(reference));
}
