#!/usr/bin/env node
// Runs the cdktf CLI with `-c key=value` context pairs, which the CLI itself ignores: the pairs are
// merged over CDKTF_CONTEXT_JSON (cdktf.json carries no "context", which would replace it) and the
// app validates them. Usage: node scripts/cdktf.js <deploy|diff|destroy|synth|plan> [stacks...] [-c key=value]...
const { spawnSync } = require('child_process');
const path = require('path');

function parseArgs(argv) {
  const context = {};
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    let pair;
    if (arg === '-c' || arg === '--context') pair = argv[++i];
    else if (arg.startsWith('--context=')) pair = arg.slice('--context='.length);
    else {
      rest.push(arg);
      continue;
    }
    const eq = pair === undefined ? -1 : pair.indexOf('=');
    if (eq <= 0) throw new Error(`${arg} expects key=value, got ${JSON.stringify(pair)}`);
    context[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return { context, rest };
}

function mergedContextJson(context, env) {
  const base = env.CDKTF_CONTEXT_JSON ? JSON.parse(env.CDKTF_CONTEXT_JSON) : {};
  return JSON.stringify({ ...base, ...context });
}

module.exports = { parseArgs, mergedContextJson };

if (require.main === module) {
  let parsed;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`error: ${error.message}`);
    process.exit(2);
  }
  const env = {
    ...process.env,
    CDKTF_CONTEXT_JSON: mergedContextJson(parsed.context, process.env),
    CHECKPOINT_DISABLE: '1',
    CDKTF_DISABLE_PLUGIN_CACHE_ENV: '1',
  };
  if (parsed.rest[0] === 'synth-local') {
    // Synthesize without the CLI (3-4 s faster, no terraform needed).
    const result = spawnSync(process.execPath, [path.join(__dirname, 'run-app.js')], { stdio: 'inherit', env });
    process.exit(result.status ?? 1);
  }
  const cli = require.resolve('cdktf-cli/bundle/bin/cdktf');
  const result = spawnSync(process.execPath, [cli, ...parsed.rest], { stdio: 'inherit', env });
  process.exit(result.status ?? 1);
}
