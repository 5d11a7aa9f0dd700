import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildApp } from '../../app';
import { PROXY_HOPS } from '@data-sync/config';
import { type Block, type TerraformJson, resourcesOf, synthJson } from '../support/terraform-checks';

const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'trust-proxy-test-'));
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

type Env = Record<string, string>;
const pairs = (list: unknown): Env =>
  Object.fromEntries(((list as Block[] | undefined) ?? []).map((e) => [String(e.name), String(e.value)]));

/** The environment of every process that serves the runtime's API, as each platform declares it. */
const API_ENVIRONMENTS: Record<keyof typeof PROXY_HOPS, (json: TerraformJson) => Env[]> = {
  aws: (json) =>
    resourcesOf(json, 'aws_ecs_task_definition')
      .flatMap(([, body]) => JSON.parse(String(body.container_definitions)) as Block[])
      .map((container) => pairs(container.environment)),
  gcp: (json) =>
    resourcesOf(json, 'google_cloud_run_v2_service').flatMap(([, body]) =>
      ((body.template as Block).containers as Block[]).map((c) => pairs(c.env)),
    ),
  // Apps with external ingress only: the worker app runs every role but no request reaches it.
  azure: (json) =>
    resourcesOf(json, 'azurerm_container_app')
      .filter(([, body]) => (body.ingress as Block[] | Block | undefined) !== undefined)
      .flatMap(([, body]) => ((body.template as Block).container as Block[]).map((c) => pairs(c.env))),
  oci: (json) =>
    resourcesOf(json, 'oci_container_instances_container_instance').flatMap(([, body]) =>
      (body.containers as Block[]).map((c) => (c.environment_variables ?? {}) as Env),
    ),
  // An app's own variables over its config map's.
  ibm: (json) => {
    const configMaps = resourcesOf(json, 'ibm_code_engine_config_map');
    const maps = new Map(configMaps.map(([name, body]) => [name, body.data as Env]));
    return resourcesOf(json, 'ibm_code_engine_app').map(([, body]) => {
      const entries = body.run_env_variables as Block[];
      const fromMaps = entries
        .filter((e) => e.type === 'config_map_full_reference')
        .flatMap((e) => [...maps].filter(([name]) => String(e.reference).includes(name)).map(([, data]) => data));
      return Object.assign({}, ...fromMaps, pairs(entries.filter((e) => e.type === 'literal')));
    });
  },
};

describe.each(Object.keys(PROXY_HOPS) as (keyof typeof PROXY_HOPS)[])('%s', (cloud) => {
  test("every API process trusts exactly its load balancer's hops in X-Forwarded-For", () => {
    const { stacks } = buildApp({ context: { clouds: cloud, environment: 'prod' }, outdir });
    const environments = API_ENVIRONMENTS[cloud](synthJson(stacks[0]));
    // A process serving on loopback only (a worker whose /metrics a sidecar scrapes) is behind no balancer.
    const served = environments.filter((env) => ['api', 'all'].includes(env.DATA_SYNC_ROLE));
    const api = served.filter((env) => env.HOST !== '127.0.0.1');
    expect(api.length).toBeGreaterThan(0);
    for (const env of api) expect(env.DATA_SYNC_TRUST_PROXY).toBe(String(PROXY_HOPS[cloud]));
    for (const env of served.filter((e) => !api.includes(e))) expect(env.DATA_SYNC_TRUST_PROXY).toBeUndefined();
  });
});
