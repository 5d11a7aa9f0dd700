#!/usr/bin/env node
// `npm run bench` runs every bench/<name>.ts in turn; `npm run bench -- synth` runs bench/synth.ts only.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const benchDir = path.resolve(__dirname, '..', 'bench');
const available = fs
  .readdirSync(benchDir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .sort();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !available.includes(name));
if (unknown.length) {
  console.error(`error: unknown benchmark ${unknown.join(', ')}; available: ${available.join(', ')}`);
  process.exit(2);
}
let status = 0;
for (const name of wanted.length ? wanted : available) {
  console.log(`\n== bench/${name}`);
  const tsx = require.resolve('tsx/cli');
  const result = spawnSync(process.execPath, [tsx, path.join(benchDir, `${name}.ts`)], { stdio: 'inherit' });
  status ||= result.status ?? 1;
}
process.exit(status);
