import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildApp } from '../../app';
import { CLOUDS } from '@data-sync/config';
import { CAPABILITIES } from '../../stacks/capabilities';
import type { DataSyncStack } from '../../stacks/data-sync-stack';
import { STACK_FACTORIES } from '../../stacks';
import { type TerraformJson, synthJson, walkObjects } from '../support/terraform-checks';
import { n8nContainers } from '../support/policies/n8n';
import { WEBHOOKS } from '@data-sync/n8n/webhooks';
import { N8N_VERSION } from '../../constructs/shared/n8n-image';
import { RUNTIME_READS } from '../boot/support/boot';

/**
 * Capability parity: every cloud stack of every environment provides each capability of
 * stacks/capabilities.ts, or records an exception with its reason; never both, never neither.
 * Clouds join this test as their factories land in stacks/index.ts.
 */
const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'parity-'));
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

const clouds = CLOUDS.filter((cloud) => STACK_FACTORIES[cloud]);
const RESOURCE_ADDRESS = /^([a-z][a-z0-9]*_[a-z0-9_]+)\.([A-Za-z0-9_-]+)$/;

let stacks: DataSyncStack[] = [];
const json = new Map<DataSyncStack, TerraformJson>();
beforeAll(() => {
  stacks = buildApp({ context: {}, outdir }).stacks;
  for (const stack of stacks) json.set(stack, synthJson(stack));
});

test('every cloud with a factory synthesizes one stack per environment', () => {
  expect(clouds.length).toBeGreaterThan(0);
  expect(stacks.map((s) => s.node.id).sort()).toEqual(
    clouds.flatMap((cloud) => ['dev', 'staging', 'prod'].map((env) => `data-sync-${cloud}-${env}`)).sort(),
  );
});

test.each(clouds)('%s: each capability is provided or excepted with a reason, never both', (cloud) => {
  const problems: string[] = [];
  for (const stack of stacks.filter((s) => s.settings.cloud === cloud)) {
    for (const capability of CAPABILITIES) {
      const provided = stack.capabilities.get(capability);
      const reason = stack.exceptions.get(capability);
      if (provided === undefined && reason === undefined)
        problems.push(`${stack.node.id}: ${capability} is neither provided nor excepted`);
      if (provided !== undefined && reason !== undefined)
        problems.push(`${stack.node.id}: ${capability} is both provided and excepted`);
      if (provided !== undefined && provided.trim().length === 0)
        problems.push(`${stack.node.id}: ${capability} is provided by nothing named`);
      if (reason !== undefined && reason.trim().length < 20)
        problems.push(`${stack.node.id}: ${capability} exception has no real reason ("${reason}")`);
    }
    for (const capability of [...stack.capabilities.keys(), ...stack.exceptions.keys()]) {
      if (!(CAPABILITIES as readonly string[]).includes(capability))
        problems.push(`${stack.node.id}: unknown capability ${capability}`);
    }
  }
  expect(problems).toEqual([]);
});

test.each(clouds)(
  '%s: each provided capability names a resource (`<type>.<logical id>`) the stack declares',
  (cloud) => {
    const problems: string[] = [];
    for (const stack of stacks.filter((s) => s.settings.cloud === cloud)) {
      const resources = json.get(stack)!.resource ?? {};
      for (const [capability, address] of stack.capabilities) {
        const match = RESOURCE_ADDRESS.exec(address);
        if (!match) problems.push(`${stack.node.id}: ${capability} -> "${address}" is not a resource address`);
        else if (!resources[match[1]]?.[match[2]])
          problems.push(`${stack.node.id}: ${capability} -> ${address} is not declared in the stack`);
      }
    }
    expect(problems).toEqual([]);
  },
);

test('every stack publishes its endpoints under the names deploy pipelines read', () => {
  for (const stack of stacks) {
    const outputs = Object.keys(json.get(stack)!.output ?? {});
    expect([
      stack.node.id,
      outputs.filter((o) => ['url', 'url-blue', 'url-green', 'active_slot'].includes(o)).sort(),
    ]).toEqual([stack.node.id, ['active_slot', 'url', 'url-blue', 'url-green']]);
  }
});

test('n8n on Workers is an explicit exception', () => {
  const cloudflare = stacks.filter((s) => s.settings.cloud === 'cloudflare');
  expect(cloudflare).toHaveLength(clouds.includes('cloudflare') ? 3 : 0);
  for (const stack of cloudflare) expect(stack.exceptions.get('n8n')).toMatch(/n8n cannot run on Workers/);
});

test('every stack where n8n runs has exactly one n8n main container, every n8n container on the pinned version, and outputs its webhook URLs', () => {
  for (const stack of stacks) {
    const containers = n8nContainers(json.get(stack)!);
    const runs = stack.capabilities.has('n8n');
    expect([stack.node.id, containers.filter((c) => c.role === 'main').length]).toEqual([stack.node.id, runs ? 1 : 0]);
    expect([stack.node.id, [...new Set(containers.map((c) => c.image.split(':').pop()))]]).toEqual([
      stack.node.id,
      runs ? [N8N_VERSION] : [],
    ]);
    const webhookOutputs = Object.keys(json.get(stack)!.output ?? {})
      .filter((o) => o.startsWith('n8n_webhook_'))
      .sort();
    expect([stack.node.id, webhookOutputs]).toEqual([
      stack.node.id,
      runs
        ? Object.values(WEBHOOKS)
            .map((w) => `n8n_webhook_${w.path.replace(/-/g, '_')}`)
            .sort()
        : [],
    ]);
  }
  expect(
    stacks
      .filter((s) => s.capabilities.has('n8n'))
      .map((s) => s.settings.cloud)
      .filter((c, i, all) => all.indexOf(c) === i)
      .sort(),
  ).toEqual(clouds.filter((c) => c !== 'cloudflare').sort());
});

test('turning n8n off turns it into an exception with its reason, and removes what served it', () => {
  const off = buildApp({
    context: { environment: 'dev', clouds: clouds.join(','), enableN8nWorkflows: 'false' },
    outdir,
  }).stacks;
  for (const stack of off) {
    expect([stack.node.id, stack.capabilities.has('n8n')]).toEqual([stack.node.id, false]);
    expect(stack.exceptions.get('n8n')).toMatch(/.{20,}/);
    const text = JSON.stringify(synthJson(stack).resource);
    expect([stack.node.id, /n8n_(service|app|database|editor)|check-n8n|n8n_origin_host/.test(text)]).toEqual([
      stack.node.id,
      false,
    ]);
  }
});

/** The environments the stacks give the Node runtime (every one names DATA_SYNC_ENVIRONMENT), with where they are. */
function runtimeEnvironments(stack: DataSyncStack): Array<{ names: string[]; where: string }> {
  const found: Array<{ names: string[]; where: string }> = [];
  for (const [type, byName] of Object.entries(json.get(stack)!.resource ?? {})) {
    for (const [name, body] of Object.entries(byName)) {
      walkObjects(body, (at, object) => {
        const envs: Array<{ names: string[]; path: string }> = [{ names: Object.keys(object), path: at }];
        for (const [key, value] of Object.entries(object)) {
          if (Array.isArray(value))
            envs.push({
              names: value
                .map((e) => (e as { name?: unknown })?.name)
                .filter((n): n is string => typeof n === 'string'),
              path: `${at}.${key}`,
            });
        }
        for (const env of envs.filter((e) => e.names.includes('DATA_SYNC_ENVIRONMENT')))
          found.push({ names: env.names, where: `${stack.node.id}: ${type}.${name} ${env.path}` });
      });
    }
  }
  return found;
}
// The Cloudflare Worker is another runtime (bindings, Hyperdrive), checked by its own tests.
const nodeStacks = () => stacks.filter((s) => s.settings.cloud !== 'cloudflare');

test('every container running the Node runtime in a deployed environment is given its PostgreSQL', () => {
  // The runtime refuses PGlite when DATA_SYNC_ENVIRONMENT is set.
  const envs = nodeStacks().flatMap(runtimeEnvironments);
  expect(envs.length).toBeGreaterThanOrEqual(5 * 3);
  expect(
    envs.filter((e) => !e.names.includes('DATABASE_URL') && !e.names.includes('DATABASE_URL_FILE')).map((e) => e.where),
  ).toEqual([]);
});

test('the stacks give the Node runtime only variables it reads', () => {
  const unread = nodeStacks()
    .flatMap(runtimeEnvironments)
    .flatMap((env) => env.names.filter((name) => !RUNTIME_READS.has(name)).map((name) => `${env.where}: ${name}`));
  expect(unread).toEqual([]);
});
