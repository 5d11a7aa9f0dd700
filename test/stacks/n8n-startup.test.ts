/**
 * n8n provisions its workflows before it listens (about 100 s), so no cloud may restart an n8n
 * container for failed health checks before N8N_STARTUP_SECONDS: read off the synthesized stacks.
 */
import { N8N_STARTUP_SECONDS } from '../../constructs/n8n/provisioning';
import { resource, synthesizedStack } from '../e2e/support/synthesized';

describe('n8n startup allowance on every cloud that runs n8n', () => {
  test('AWS: the ECS service ignores failed target-group checks for the allowance', () => {
    expect(
      resource(synthesizedStack('aws'), 'aws_ecs_service', 'n8n_service').health_check_grace_period_seconds,
    ).toBeGreaterThanOrEqual(N8N_STARTUP_SECONDS);
    // The runtime keeps its own (it listens within a second).
    expect(
      resource(synthesizedStack('aws'), 'aws_ecs_service', 'runtime_blue_service').health_check_grace_period_seconds,
    ).toBe(60);
  });

  test('OCI: the container instance health check starts after the allowance', () => {
    const checks = resource(
      synthesizedStack('oci'),
      'oci_container_instances_container_instance',
      'n8n_host_instance',
    ).containers.flatMap((c: { health_checks?: unknown[] }) => c.health_checks ?? []);
    expect(checks).toEqual([
      expect.objectContaining({ path: '/healthz', initial_delay_in_seconds: N8N_STARTUP_SECONDS }),
    ]);
  });

  test('GCP and Azure: the startup probe waits at least the allowance', () => {
    const gcp = Object.values(synthesizedStack('gcp').resource.google_cloud_run_v2_service as Record<string, any>).find(
      (s) => String(s.name).includes('n8n'),
    );
    const probe = gcp.template.containers[0].startup_probe;
    expect(probe.period_seconds * probe.failure_threshold).toBeGreaterThanOrEqual(N8N_STARTUP_SECONDS);
    const azure = Object.values(synthesizedStack('azure').resource.azurerm_container_app as Record<string, any>).find(
      (a) => String(a.name).includes('n8n'),
    );
    const startup = azure.template.container[0].startup_probe[0];
    expect(startup.interval_seconds * startup.failure_count_threshold).toBeGreaterThanOrEqual(N8N_STARTUP_SECONDS);
  });
});
