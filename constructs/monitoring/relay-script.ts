import * as path from 'path';
import { buildSync } from 'esbuild';
import { projectRoot } from '../shared/zip';

const scripts = new Map<string, string>();

/**
 * `run` of monitoring/`module`.ts called at load, as one minified CommonJS file (node builtins and the
 * module's own dependencies bundled in), built once per synth: the relays the stacks mount beside a process.
 */
export function relayScript(module: string, run: string): string {
  const key = `${module}#${run}`;
  let script = scripts.get(key);
  if (!script) {
    script = buildSync({
      stdin: {
        contents: `import { ${run} } from './${module}'; ${run}();`,
        resolveDir: path.join(projectRoot(), 'monitoring'),
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      // Concatenation for template literals: a `${` in a Terraform string would be read as an interpolation.
      supported: { 'template-literal': false },
      minify: true,
      write: false,
      logLevel: 'warning',
    }).outputFiles[0].text;
    if (/[$%]\{/.test(script))
      throw new Error(`${module}: the bundle holds a \`\${\` or \`%{\` Terraform would interpolate`);
    scripts.set(key, script);
  }
  return script;
}
