/**
 * n8n's production shape as the synthesized stacks give it to the containers: queue mode with Redis
 * over TLS from the secret manager, `n8n worker` and `n8n webhook` processes beside main, the webhook
 * paths routed to the webhook processes, one encryption key on every process, and execution data
 * pruning everywhere. Sizes come from config/n8n-shape.ts.
 */
import { N8N_PROCESSES } from '@data-sync/config';
import { n8nProcessesOf, n8nStack, processNamed } from './support/n8n-stacks';

const CLOUDS = ['aws', 'gcp', 'azure', 'oci', 'ibm'] as const;
const REDIS_SECRETS = ['QUEUE_BULL_REDIS_HOST', 'QUEUE_BULL_REDIS_PORT', 'QUEUE_BULL_REDIS_PASSWORD'];

describe.each(CLOUDS)('n8n on %s', (cloud) => {
  test.each(['staging', 'prod'] as const)(
    '%s runs main, workers and webhook processes in queue mode',
    (environment) => {
      const shape = N8N_PROCESSES[environment];
      if (shape.mode !== 'queue') throw new Error(`${environment} is expected in queue mode`);
      const processes = n8nProcessesOf(cloud, n8nStack(cloud, environment));
      expect(processes).toHaveLength(3);
      const main = processNamed(processes, '-n8n');
      const worker = processNamed(processes, '-n8n-workers');
      const webhook = processNamed(processes, '-n8n-webhooks');
      expect(main.instances).toBe(1);
      expect(main.command.at(-1)).toBe('start');
      expect(worker.command).toEqual(['n8n', 'worker', `--concurrency=${shape.workerConcurrency}`]);
      expect(worker.instances).toBe(shape.workers);
      expect(webhook.command).toEqual(['n8n', 'webhook']);
      expect(webhook.instances).toBe(shape.webhookProcessors);
      for (const p of processes) {
        expect({ name: p.name, mode: p.env.EXECUTIONS_MODE, tls: p.env.QUEUE_BULL_REDIS_TLS }).toEqual({
          name: p.name,
          mode: 'queue',
          tls: 'true',
        });
        for (const secret of REDIS_SECRETS) expect(p.secrets[secret]).toBeTruthy();
        // The same secret, not only the same name, on every process (on OCI: the file its sidecar writes from it;
        // on IBM: the key of the Code Engine secret).
        expect(p.secrets.N8N_ENCRYPTION_KEY).toBe(main.secrets.N8N_ENCRYPTION_KEY);
        expect(p.env.N8N_ENCRYPTION_KEY).toBeUndefined();
      }
      expect(main.secrets.QUEUE_BULL_REDIS_HOST).toBe(worker.secrets.QUEUE_BULL_REDIS_HOST);
      // Only main provisions and owns: workers and webhook processes never see the credential values.
      for (const p of [worker, webhook]) {
        expect(p.secrets.N8N_CREDENTIALS).toBeUndefined();
        expect(p.env.N8N_PROVISIONING).toBeUndefined();
      }
      expect(worker.env.QUEUE_HEALTH_CHECK_ACTIVE).toBe('true');
      expect(main.env).toMatchObject({ N8N_METRICS: 'true', N8N_METRICS_INCLUDE_QUEUE_METRICS: 'true' });
    },
  );

  test('dev stays one regular-mode process', () => {
    const processes = n8nProcessesOf(cloud, n8nStack(cloud, 'dev'));
    expect(processes).toHaveLength(1);
    expect(processes[0].env.EXECUTIONS_MODE).toBeUndefined();
    expect(processes[0].secrets.QUEUE_BULL_REDIS_HOST).toBeUndefined();
  });

  test.each(['dev', 'staging', 'prod'])('%s prunes execution data on every process', (environment) => {
    for (const p of n8nProcessesOf(cloud, n8nStack(cloud, environment)))
      expect(p.env).toMatchObject({ EXECUTIONS_DATA_PRUNE: 'true', EXECUTIONS_DATA_MAX_AGE: '336' });
  });
});

describe('webhook paths lead to the webhook processes in prod', () => {
  test('AWS: the listener sends /n8n/webhook/* to the webhook target group, ahead of the editor route', () => {
    const r = n8nStack('aws', 'prod').resource;
    const rules = Object.values(r.aws_lb_listener_rule as Record<string, any>);
    const webhookRule = rules.find((rule) => rule.condition[0].path_pattern?.values.includes('/n8n/webhook/*'));
    const editorRule = rules.find((rule) => rule.condition[0].path_pattern?.values.includes('/n8n/*'));
    expect(webhookRule.priority).toBeLessThan(editorRule.priority);
    const group = /aws_lb_target_group\.([^.]+)\.arn/.exec(webhookRule.action[0].target_group_arn)![1];
    const service = Object.values(r.aws_ecs_service as Record<string, any>).find((s) =>
      s.load_balancer.some((lb: any) => lb.target_group_arn === `\${aws_lb_target_group.${group}.arn}`),
    );
    expect(service.name).toBe('data-sync-prod-n8n-webhooks');
  });

  test('OCI: the load balancer sends /n8n/webhook/ to the webhook instances, the longest prefix winning', () => {
    const r = n8nStack('oci', 'prod').resource;
    const routes = Object.values(r.oci_load_balancer_path_route_set as Record<string, any>)[0].path_routes;
    const webhook = routes.find((route: any) => route.path === '/n8n/webhook/');
    expect(webhook.path_match_type.match_type).toBe('FORCE_LONGEST_PREFIX_MATCH');
    const hosts = Object.values(r.oci_container_instances_container_instance as Record<string, any>).filter((h) =>
      String(h.display_name).startsWith('data-sync-prod-n8n-webhooks-'),
    );
    expect(hosts).toHaveLength(2);
    const backends = Object.values(r.oci_load_balancer_backend as Record<string, any>).filter(
      (b) => b.backendset_name === webhook.backend_set_name,
    );
    expect(backends).toHaveLength(hosts.length);
  });

  test.each(['gcp', 'azure'] as const)('%s: the webhook outputs and WEBHOOK_URL name the webhook service', (cloud) => {
    const stack = n8nStack(cloud, 'prod');
    const url = stack.output.n8n_webhook_salesforce_contact.value as string;
    const webhookHost = cloud === 'gcp' ? 'data-sync-prod-n8n-webhooks-' : 'https://ds-prod-n8n-webhooks.';
    expect(url).toContain(webhookHost);
    for (const p of n8nProcessesOf(cloud, stack)) expect(`${p.env.WEBHOOK_URL}webhook/salesforce-contact`).toBe(url);
  });

  test('IBM: the webhook outputs name the public webhook app, which main and the workers give n8n as WEBHOOK_URL', () => {
    const stack = n8nStack('ibm', 'prod');
    const apps = Object.entries(stack.resource.ibm_code_engine_app as Record<string, any>);
    const [webhookApp] = apps.find(([, a]) => a.name === 'data-sync-prod-n8n-webhooks')!;
    const url = stack.output.n8n_webhook_salesforce_contact.value as string;
    expect(url).toBe(`\${ibm_code_engine_app.${webhookApp}.endpoint}/webhook/salesforce-contact`);
    const processes = n8nProcessesOf('ibm', stack);
    for (const suffix of ['-n8n', '-n8n-workers'])
      expect(`${processNamed(processes, suffix).env.WEBHOOK_URL}webhook/salesforce-contact`).toBe(url);
  });

  test("IBM: the queue's Redis secrets are in Secrets Manager beside n8n's others, and the runtime is given none", () => {
    const stack = n8nStack('ibm', 'prod');
    const names = Object.values(stack.resource.ibm_sm_arbitrary_secret as Record<string, any>).map((x) => x.name);
    expect(names).toEqual(expect.arrayContaining(REDIS_SECRETS));
    const runtimeReads = Object.values(stack.resource.ibm_iam_service_policy as Record<string, any>).map(
      (policy) => policy.description,
    );
    for (const secret of REDIS_SECRETS) {
      expect(runtimeReads).not.toContain(`Read ${secret}`);
      expect(stack.output.runtime_secret_keys.value).not.toContain(secret);
    }
  });
});
