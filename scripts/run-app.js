// The cdktf "app" command: builds the runtime bundle (the stacks package it as an asset) and the app,
// then synthesizes. `npm run synth` and the cdktf CLI both run this.
const path = require('path');
const root = path.resolve(__dirname, '..');
process.chdir(root);
require('./build-runtime')
  .buildRuntime({ quiet: true })
  .then(() => {
    require('./build-app').buildApp();
    require(path.join(root, 'dist', 'main.js'));
  })
  .catch((error) => {
    console.error(`error: ${error.message}`);
    process.exit(1);
  });
