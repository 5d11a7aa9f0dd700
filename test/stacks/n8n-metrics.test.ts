/**
 * n8n's metrics reach the monitoring catalog on AWS, GCP, Azure, OCI and IBM: main exposes them
 * (N8N_METRICS, with the queue gauges in queue mode), each cloud scrapes main's /metrics the way it
 * scrapes the runtime's, into the store its N8nQueueBacklog alarm reads, with the dimension that alarm
 * filters on. On IBM, where nothing scrapes a Code Engine app, a relay job scrapes main and remote-writes
 * the gauge to the IBM Cloud Monitoring instance the PromQL alert is defined on.
 */
import { N8N_METRICS } from '@data-sync/monitoring/n8n-metrics';
import { RELAY_ENV, relayConfig } from '@data-sync/monitoring/oci-metrics-relay';
import { REMOTE_WRITE_RELAY_ENV, remoteWriteRelayConfig } from '@data-sync/monitoring/remote-write-relay';
import { n8nProcessesOf, n8nStack, processNamed } from './support/n8n-stacks';

const WAITING = N8N_METRICS.queueJobsWaiting.name;
const values = (o: Record<string, any>) => Object.values(o ?? {});

describe.each(['staging', 'prod'])('n8n metrics in %s', (environment) => {
  test('main exposes them with the queue metrics on every cloud', () => {
    for (const cloud of ['aws', 'gcp', 'azure', 'oci', 'ibm'] as const)
      expect(processNamed(n8nProcessesOf(cloud, n8nStack(cloud, environment)), '-n8n').env).toMatchObject({
        N8N_METRICS: 'true',
        N8N_METRICS_INCLUDE_QUEUE_METRICS: 'true',
      });
  });

  test("AWS: main's CloudWatch agent scrapes n8n's port into the alarm's namespace and dimension", () => {
    const r = n8nStack('aws', environment).resource;
    const task = values(r.aws_ecs_task_definition).find((t) => String(t.family).endsWith('-n8n'));
    const [n8n, agent] = JSON.parse(task.container_definitions);
    const env = Object.fromEntries(agent.environment.map((e: any) => [e.name, e.value]));
    const scrape = JSON.parse(env.PROMETHEUS_CONFIG_CONTENT).scrape_configs[0];
    expect(scrape.metrics_path).toBe('/metrics');
    expect(scrape.static_configs[0].targets).toEqual([`localhost:${n8n.portMappings[0].containerPort}`]);
    const declarations = JSON.parse(env.CW_CONFIG_CONTENT).logs.metrics_collected.prometheus;
    const declaration = declarations.emf_processor.metric_declaration.find((d: any) =>
      d.metric_selectors.includes(`^${WAITING}$`),
    );
    expect(declaration).toMatchObject({ label_matcher: `^${scrape.job_name}$`, dimensions: [['service']] });
    const alarm = values(r.aws_cloudwatch_metric_alarm).find((a) => a.metric_name === WAITING);
    expect(alarm).toMatchObject({
      namespace: declarations.emf_processor.metric_namespace,
      dimensions: { service: scrape.static_configs[0].labels.service },
      threshold: 50,
    });
  });

  test("GCP: main listens on the port Google's Prometheus sidecar scrapes, and may write metrics", () => {
    const r = n8nStack('gcp', environment).resource;
    const main = values(r.google_cloud_run_v2_service).find((s) => String(s.name).endsWith('-n8n'));
    const [n8n, sidecar] = main.template.containers;
    expect(sidecar.image).toContain('cloud-run-gmp-sidecar');
    // The sidecar's default configuration scrapes :8080/metrics.
    expect(n8n.ports.container_port).toBe(8080);
    expect(n8n.env.find((e: any) => e.name === 'N8N_PORT').value).toBe('8080');
    const account = /google_service_account\.([^.]+)\.email/.exec(main.template.service_account)![1];
    expect(values(r.google_project_iam_member)).toContainEqual(
      expect.objectContaining({
        role: 'roles/monitoring.metricWriter',
        member: `serviceAccount:\${google_service_account.${account}.email}`,
      }),
    );
    const policy = values(r.google_monitoring_alert_policy).find((p) => JSON.stringify(p).includes(WAITING));
    expect(policy).toBeDefined();
  });

  test("Azure: main's Prometheus agent remote-writes to the workspace its rule group evaluates, as n8n's identity", () => {
    const r = n8nStack('azure', environment).resource;
    const main = values(r.azurerm_container_app).find((a) => String(a.name).endsWith('-n8n'));
    const agent = main.template.container.find((c: any) => c.name === 'metrics');
    const config = JSON.parse(agent.env.find((e: any) => e.name === 'PROMETHEUS_CONFIG').value);
    expect(config.scrape_configs[0].static_configs[0].targets).toEqual([`localhost:${main.ingress.target_port}`]);
    const rule = /azurerm_monitor_data_collection_rule\.([^.]+)\.immutable_id/.exec(config.remote_write[0].url)![1];
    const identity = /azurerm_user_assigned_identity\.([^.]+)\.client_id/.exec(
      config.remote_write[0].azuread.managed_identity.client_id,
    )![1];
    expect(main.identity.identity_ids).toEqual([`\${azurerm_user_assigned_identity.${identity}.id}`]);
    expect(values(r.azurerm_role_assignment)).toContainEqual(
      expect.objectContaining({
        scope: `\${azurerm_monitor_data_collection_rule.${rule}.id}`,
        role_definition_name: 'Monitoring Metrics Publisher',
        principal_id: `\${azurerm_user_assigned_identity.${identity}.principal_id}`,
      }),
    );
    const rules = values(r.azurerm_monitor_alert_prometheus_rule_group).flatMap((g) => g.rule);
    expect(rules.find((x: any) => x.alert === 'N8nQueueBacklog').expression).toContain(WAITING);
  });

  test("OCI: main's relay posts n8n's port into the alarm's namespace, allowed for n8n's dynamic group there only", () => {
    const r = n8nStack('oci', environment).resource;
    const main = values(r.oci_container_instances_container_instance).find((i) =>
      String(i.display_name).endsWith('-n8n'),
    );
    const [n8n, , relay] = main.containers;
    expect(relay.display_name).toBe('metrics');
    const config = relayConfig(relay.environment_variables);
    expect(config.scrapeUrl).toBe(`http://localhost:${n8n.environment_variables.N8N_PORT}/metrics`);
    expect(n8n.health_checks[0].port).toBe(Number(n8n.environment_variables.N8N_PORT));
    expect(config.series).toContain(WAITING);
    const alarm = values(r.oci_monitoring_alarm).find((a) => String(a.query).includes(WAITING));
    expect(alarm).toMatchObject({
      namespace: config.namespace,
      metric_compartment_id: config.compartmentId,
      query: `${WAITING}[1m].max() > 50`,
    });
    expect(relay.environment_variables[RELAY_ENV.dimensions]).toBe(JSON.stringify({ instance: main.display_name }));
    // main's resource principal: the n8n dynamic group, which its tag selects, may use metrics in that namespace.
    const [groupId] = Object.entries(r.oci_identity_dynamic_group as Record<string, any>).find(([, g]) =>
      String(g.matching_rule).includes(`.value = '${Object.values(main.defined_tags)[0]}'`),
    )!;
    expect(values(r.oci_identity_policy).flatMap((p) => p.statements)).toContain(
      `Allow dynamic-group \${oci_identity_dynamic_group.${groupId}.name} to use metrics in compartment id \${var.compartment_ocid} where target.metrics.namespace = '${config.namespace}'`,
    );
  });

  test("IBM: a relay job scrapes main's /metrics and remote-writes the queue gauge to the Monitoring its PromQL alert reads", () => {
    const r = n8nStack('ibm', environment).resource;
    const alert = values(r.sysdig_monitor_alert_v2_prometheus).find((a) => String(a.name).endsWith('-N8nQueueBacklog'));
    expect(alert.query).toContain(WAITING);
    const [mainId, main] = Object.entries(r.ibm_code_engine_app as Record<string, any>).find(([, a]) =>
      String(a.name).endsWith('-n8n'),
    )!;
    const relay = values(r.ibm_code_engine_job).find((j) => String(j.name).endsWith('-metrics-relay'));
    const env = Object.fromEntries(
      relay.run_env_variables.filter((v: any) => v.type === 'literal').map((v: any) => [v.name, v.value]),
    );
    const config = remoteWriteRelayConfig({ ...env, [REMOTE_WRITE_RELAY_ENV.token]: 'from-the-secret' });
    expect(config.scrapeUrl).toBe(`\${ibm_code_engine_app.${mainId}.endpoint}/metrics`);
    expect(config.series).toContain(WAITING);
    expect(config.instance).toBe(main.name);
    const monitoring = values(r.ibm_resource_instance).find((i) => i.service === 'sysdig-monitor');
    expect(config.target.url).toBe(
      `https://ingest.prws.${monitoring.location}.monitoring.cloud.ibm.com/prometheus/remote/write`,
    );
    // The token is the one key of the runtime's secret the job is given, never a value here.
    expect(relay.run_env_variables).toContainEqual({
      type: 'secret_key_reference',
      name: REMOTE_WRITE_RELAY_ENV.token,
      key: REMOTE_WRITE_RELAY_ENV.token,
      reference: expect.stringMatching(/^\$\{ibm_code_engine_secret\.runtime_secret_\w+\.name\}$/),
    });
    // main runs one instance: one relay, one instance label, no double counting.
    expect(main.scale_max_instances).toBe(1);
    expect(relay).toMatchObject({ run_mode: 'daemon', scale_array_spec: '0' });
  });
});
