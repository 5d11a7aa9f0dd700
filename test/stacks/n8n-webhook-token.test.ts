/**
 * The runtime's N8N_WEBHOOK_TOKEN (the header credential /api/workflows/execute sends to n8n's
 * webhooks) comes from each cloud's secret manager wherever n8n is enabled, the way N8N_API_KEY does,
 * and loadConfig reads it the way that cloud hands it over (a variable, or a `_FILE` on OCI).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadConfig } from '@data-sync/sync-runtime/src/config';
import { n8nStack } from './support/n8n-stacks';

const ENVIRONMENTS = ['dev', 'staging', 'prod'];
const values = (o: Record<string, any>) => Object.values(o ?? {});

describe.each(ENVIRONMENTS)('N8N_WEBHOOK_TOKEN in %s', (environment) => {
  test('AWS: every runtime task reads it from its own Secrets Manager secret', () => {
    const r = n8nStack('aws', environment).resource;
    const [secret] = Object.entries(r.aws_secretsmanager_secret as Record<string, any>).find(([, s]) =>
      String(s.name).endsWith('runtime/N8N_WEBHOOK_TOKEN'),
    )!;
    const tasks = values(r.aws_ecs_task_definition).filter((t) => /-api-(blue|green)$/.test(String(t.family)));
    expect(tasks.length).toBeGreaterThan(0);
    for (const task of tasks) {
      const secrets = JSON.parse(task.container_definitions)[0].secrets;
      expect(secrets).toContainEqual({
        name: 'N8N_WEBHOOK_TOKEN',
        valueFrom: `\${aws_secretsmanager_secret.${secret}.arn}`,
      });
    }
  });

  test('GCP: the runtime service reads it from Secret Manager', () => {
    const r = n8nStack('gcp', environment).resource;
    const runtime = values(r.google_cloud_run_v2_service).find((s) => String(s.name).endsWith('-runtime'));
    const env = runtime.template.containers[0].env.find((e: any) => e.name === 'N8N_WEBHOOK_TOKEN');
    expect(env.value).toBeUndefined();
    expect(env.value_source.secret_key_ref.secret).toMatch(/google_secret_manager_secret\.[^.]+n8n_webhook_token/);
  });

  test('Azure: the runtime app reads it from Key Vault', () => {
    const r = n8nStack('azure', environment).resource;
    const runtime = values(r.azurerm_container_app).find((a) => String(a.name).endsWith('-runtime'));
    const env = runtime.template.container[0].env.find((e: any) => e.name === 'N8N_WEBHOOK_TOKEN');
    const secret = runtime.secret.find((s: any) => s.name === env.secret_name);
    expect(secret.key_vault_secret_id).toMatch(/secrets\/n8n-webhook-token$/);
  });

  test('OCI: the secrets sidecar writes it from Vault and the runtime reads N8N_WEBHOOK_TOKEN_FILE', () => {
    const r = n8nStack('oci', environment).resource;
    const runtime = values(r.oci_container_instances_container_instance).find((i) =>
      String(i.display_name).includes('-api-'),
    );
    const app = runtime.containers.find((c: any) => c.display_name === 'app');
    expect(app.environment_variables.N8N_WEBHOOK_TOKEN_FILE).toBe('/secrets/N8N_WEBHOOK_TOKEN');
    const sidecar = runtime.containers.find((c: any) => c.display_name === 'secrets').command.join(' ');
    expect(sidecar).toMatch(
      /--secret-id \$\{oci_vault_secret\.secrets_N8N_WEBHOOK_TOKEN_\w+\.id\}[^&]*> \/secrets\/N8N_WEBHOOK_TOKEN( |$)/,
    );
  });

  test('IBM: a Secrets Manager secret the runtime (not n8n) may read', () => {
    const r = n8nStack('ibm', environment).resource;
    const [secret] = Object.entries(r.ibm_sm_arbitrary_secret as Record<string, any>).find(
      ([, s]) => s.name === 'N8N_WEBHOOK_TOKEN',
    )!;
    const grants = values(r.ibm_iam_service_policy).filter((p) =>
      JSON.stringify(p).includes(`ibm_sm_arbitrary_secret.${secret}.`),
    );
    expect(grants).toHaveLength(1);
  });
});

describe('the runtime reads N8N_WEBHOOK_TOKEN', () => {
  const base = { N8N_URL: 'http://127.0.0.1:5678', N8N_API_KEY: 'key' };

  test('from the variable, or from the file N8N_WEBHOOK_TOKEN_FILE names (OCI)', () => {
    expect(loadConfig({ ...base, N8N_WEBHOOK_TOKEN: 'token-1' }).n8nWebhookToken).toBe('token-1');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webhook-token-'));
    try {
      fs.writeFileSync(path.join(dir, 'N8N_WEBHOOK_TOKEN'), 'token-2\n');
      expect(loadConfig({ ...base, N8N_WEBHOOK_TOKEN_FILE: path.join(dir, 'N8N_WEBHOOK_TOKEN') }).n8nWebhookToken).toBe(
        'token-2',
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
