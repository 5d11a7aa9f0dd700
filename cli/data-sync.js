#!/usr/bin/env node
// The `data-sync` command (package.json "bin"): the TypeScript source through tsx, a dev dependency,
// since the CLI is run from the repository (`npx data-sync ...`).
require('tsx/cjs');
require('./src/main.ts')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
