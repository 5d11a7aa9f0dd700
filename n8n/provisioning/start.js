// The n8n container's start step, run as `node -e <this file> <n8n command...>` in the stock n8n image
// (so it uses Node's built-ins only). It provisions what N8N_PROVISIONING describes through n8n's own
// CLI, then runs n8n in the foreground:
//   1. credentials: definitions from the plan, values from the N8N_CREDENTIALS secret (JSON keyed by
//      credential key; `settings` holds secret workflow settings), written to a private temp file that
//      `n8n import:credentials` encrypts with N8N_ENCRYPTION_KEY, then deleted;
//   2. workflows: `@@NAME@@` settings filled from the environment (or the secret's settings), imported
//      with `import:workflow --separate` under their fixed ids (an update in place; import deactivates);
//   3. `publish:workflow --id=` for each workflow that is active in this environment.
// Any missing value stops the start with a message naming it, before n8n serves anything.
// Every *_FILE variable the plan needs (N8N_PROVISIONING_FILE, N8N_CREDENTIALS_FILE) is read the way
// n8n reads its own: the file's content replaces the variable. Where a sidecar writes those files
// (OCI), the step waits up to two minutes for the file to appear.
// This source is passed through Terraform as a string, so it has no template literals (Terraform
// would read their dollar-brace as its own interpolation).
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

function fail(message) {
  console.error('n8n provisioning: ' + message);
  process.exit(1);
}

const FILE_WAIT_MS = 120_000;

function waitForFile(file) {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (const deadline = Date.now() + FILE_WAIT_MS; Date.now() < deadline; Atomics.wait(pause, 0, 0, 1000)) {
    if (fs.existsSync(file) && fs.statSync(file).size > 0) return;
  }
}

function variable(name) {
  const file = process.env[name + '_FILE'];
  if (file) {
    waitForFile(file);
    try {
      return fs.readFileSync(file, 'utf8').trim();
    } catch (error) {
      fail(name + '_FILE: cannot read ' + file + ': ' + error.message);
    }
  }
  return process.env[name];
}

function parseJson(name, text) {
  try {
    return JSON.parse(text);
  } catch (error) {
    return fail(name + ' is not valid JSON: ' + error.message);
  }
}

function credentialsFrom(plan, secret) {
  return plan.credentials.map((definition) => {
    const entry = secret[definition.key];
    if (!entry || typeof entry !== 'object')
      fail('N8N_CREDENTIALS has no "' + definition.key + '" entry (credential ' + definition.name + ')');
    const data = {};
    for (const field of definition.required) {
      if (entry[field] === undefined || entry[field] === '')
        fail('N8N_CREDENTIALS: ' + definition.key + '.' + field + ' is missing');
      data[field] = entry[field];
    }
    for (const field of definition.optional || []) if (entry[field] !== undefined) data[field] = entry[field];
    Object.assign(data, definition.fixed || {});
    return { id: definition.id, name: definition.name, type: definition.type, data };
  });
}

function fillSettings(value, lookup) {
  if (typeof value === 'string') return value.replace(/@@([A-Z][A-Z0-9_]*)@@/g, (whole, name) => lookup(name) ?? whole);
  if (Array.isArray(value)) return value.map((v) => fillSettings(v, lookup));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillSettings(v, lookup)]));
  return value;
}

function n8n(args) {
  console.error('n8n provisioning: n8n ' + args.join(' '));
  const result = spawnSync('n8n', args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) fail('n8n ' + args[0] + ' failed (exit ' + (result.status ?? result.signal) + ')');
}

function provision() {
  const planText = variable('N8N_PROVISIONING');
  if (!planText) fail('N8N_PROVISIONING is not set');
  const plan = parseJson('N8N_PROVISIONING', planText);
  const secretText = variable('N8N_CREDENTIALS');
  const secret = secretText ? parseJson('N8N_CREDENTIALS', secretText) : {};
  if (plan.credentials.length && !secretText) fail('N8N_CREDENTIALS is not set');
  const settings = secret.settings || {};
  const lookup = (name) =>
    process.env[name] !== undefined && process.env[name] !== '' ? process.env[name] : settings[name];
  for (const name of plan.settings)
    if (lookup(name) === undefined)
      fail('setting ' + name + ' is not set (environment or N8N_CREDENTIALS settings.' + name + ')');
  const credentials = credentialsFrom(plan, secret);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-provisioning-'));
  try {
    if (credentials.length) {
      const file = path.join(dir, 'credentials.json');
      fs.writeFileSync(file, JSON.stringify(credentials), { mode: 0o600 });
      n8n(['import:credentials', '--input=' + file]);
      fs.rmSync(file);
    }
    const workflows = path.join(dir, 'workflows');
    fs.mkdirSync(workflows);
    for (const workflow of plan.workflows)
      fs.writeFileSync(path.join(workflows, workflow.id + '.json'), JSON.stringify(fillSettings(workflow, lookup)));
    n8n(['import:workflow', '--separate', '--input=' + workflows]);
    for (const id of plan.publish) n8n(['publish:workflow', '--id=' + id]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const command = process.argv.slice(1);
if (command.length === 0) fail('no n8n command given after the script (e.g. start)');
provision();
// n8n itself, in the foreground; this process stays PID 1's child-reaper and passes signals on.
const child = spawn('n8n', command, { stdio: 'inherit' });
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (os.constants.signals[signal] || 0) : 1)));
