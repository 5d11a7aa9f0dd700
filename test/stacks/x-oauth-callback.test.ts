/**
 * The X OAuth callback on every stack: each publishes `x_oauth_callback_url`, the runtime URL plus the
 * path the runtime serves the callback on (the value an X app registers and an X integration's
 * config.redirectUri holds), and on Cloudflare, whose Worker routes are patterns, the main hostname's
 * route sends that path to the Worker.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildApp } from '../../app';
import type { DataSyncStack } from '../../stacks/data-sync-stack';
import { X_CALLBACK_PATH } from '@data-sync/sync-runtime/src/social/x-authorizations';
import { type TerraformJson, resourcesOf, synthJson } from '../support/terraform-checks';

const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'x-callback-'));
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

let stacks: DataSyncStack[] = [];
const json = new Map<DataSyncStack, TerraformJson>();
beforeAll(() => {
  stacks = buildApp({ context: {}, outdir }).stacks;
  for (const stack of stacks) json.set(stack, synthJson(stack));
});

const outputValue = (stack: DataSyncStack, name: string) =>
  (json.get(stack)!.output as Record<string, { value: string }> | undefined)?.[name]?.value;

test('every stack outputs the X callback URL as its runtime URL plus the callback path', () => {
  expect(stacks.length).toBeGreaterThan(0);
  for (const stack of stacks) {
    const url = outputValue(stack, 'url');
    expect([stack.node.id, outputValue(stack, 'x_oauth_callback_url')]).toEqual([
      stack.node.id,
      `${url}${X_CALLBACK_PATH}`,
    ]);
  }
});

test("on Cloudflare the main hostname's Worker route covers the callback path", () => {
  const cloudflare = stacks.filter((s) => s.settings.cloud === 'cloudflare');
  expect(cloudflare.length).toBeGreaterThan(0);
  for (const stack of cloudflare) {
    const patterns = resourcesOf(json.get(stack)!, 'cloudflare_workers_route').map(([, r]) => String(r.pattern));
    // The host holds Terraform references (the zone variable), so it is cut from the URL rather than parsed.
    const host = /^https:\/\/([^/]+)\//.exec(String(outputValue(stack, 'x_oauth_callback_url')))?.[1];
    expect(patterns).toContain(`${host}/*`);
  }
});
