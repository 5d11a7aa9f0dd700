import * as os from 'os';
import { EVENT_ENV } from '@data-sync/config/events';
import { METRICS, METRIC_LIST } from '@data-sync/monitoring/metrics';
import { catalogMetricFor } from '@data-sync/monitoring/promql';
import { startFakeIbmCloud } from '@data-sync/sync-runtime/src/events/testing/fake-ibm-cloud';
import { type LocalServices, testSecret } from './boot';
import { startFakeRemoteWrite } from '@data-sync/test-services/remote-write-receiver';
import { commitOutboxEvent } from './outbox-event';
import { type RuntimeProcess, resourcesOf, runsRuntime } from './runtime-process';
import type { LocalBus } from './stack-boot';

type EnvVariable =
  | { type: 'literal'; name: string; value: string }
  | { type: 'config_map_full_reference' | 'secret_full_reference'; reference: string }
  | { type: 'config_map_key_reference' | 'secret_key_reference'; name: string; key: string; reference: string };

/**
 * The Code Engine apps' and jobs' runtime containers: literal variables, and whole config maps and
 * secrets (the config map's data is in the stack; the secret's keys are the `runtime_secret_keys` output).
 */
export function ibmContainers(stack: any): RuntimeProcess[] {
  const byName = (type: string) =>
    new Map<string, any>(resourcesOf(stack, type).map(([logical, r]) => [`\${${type}.${logical}.name}`, r]));
  const configMaps = byName('ibm_code_engine_config_map');
  const secrets = byName('ibm_code_engine_secret');
  return [...resourcesOf(stack, 'ibm_code_engine_app'), ...resourcesOf(stack, 'ibm_code_engine_job')]
    .filter(([, r]) => runsRuntime(r.run_arguments))
    .map(([name, r]) => {
      const env: Record<string, string> = {};
      const secretRefs: Record<string, string> = {};
      const listed: string[] = [];
      for (const v of r.run_env_variables as EnvVariable[]) {
        if (v.type === 'literal') {
          env[v.name] = v.value;
          listed.push(v.name);
        } else if (v.type === 'config_map_full_reference') {
          const map = configMaps.get(v.reference);
          if (!map) throw new Error(`${name}: no config map ${v.reference}`);
          Object.assign(env, map.data);
          listed.push(...Object.keys(map.data));
        } else if (v.type === 'secret_full_reference') {
          if (!secrets.has(v.reference)) throw new Error(`${name}: no secret ${v.reference}`);
          // Its data is filled out of band; the stack's output names the keys the operator puts in it.
          for (const key of stack.output.runtime_secret_keys.value as string[])
            secretRefs[key] = `${v.reference}/${key}`;
          listed.push(...(stack.output.runtime_secret_keys.value as string[]));
        } else throw new Error(`${name}: ${v.type} variables are not read by this test yet`);
      }
      return { name: `${r['//']?.metadata?.path ?? name}`, command: r.run_arguments, env, secrets: secretRefs, listed };
    });
}

const REMOTE_WRITE_TOKEN = 'DATA_SYNC_METRICS_REMOTE_WRITE_TOKEN';

/** The Event Notifications instance GUID the processes are given here (the stack's is known only once applied). */
const BOOT_INSTANCE = '00000000-0000-4000-8000-0000000000e1';

/**
 * IBM Cloud here: stand-ins of IAM (knowing the API key the runtime-credentials secret would carry), of
 * Event Notifications' Send Notifications, and of Monitoring's remote-write ingestion (HTTPS, trusting the
 * token that secret would carry).
 */
export async function startIbmBus(): Promise<LocalBus> {
  const apiKeyVariable = 'DATA_SYNC_IBM_EN_API_KEY';
  const ibm = await startFakeIbmCloud({ apiKey: testSecret(apiKeyVariable, {} as LocalServices) });
  const monitoring = await startFakeRemoteWrite(testSecret(REMOTE_WRITE_TOKEN, {} as LocalServices), { tls: true });
  return {
    variables: {
      [EVENT_ENV.target]: BOOT_INSTANCE,
      DATA_SYNC_IBM_EN_URL: ibm.enUrl,
      DATA_SYNC_METRICS_REMOTE_WRITE_URL: monitoring.url,
    },
    extra: { DATA_SYNC_IBM_IAM_URL: ibm.iamUrl, NODE_EXTRA_CA_CERTS: monitoring.caFile! },
    async expectMetricsArrived({ booted }) {
      // Every process pushes once at start, labelled with its host (all share one here).
      const roles = booted.map((b) => b.env.DATA_SYNC_ROLE);
      for (const role of new Set(roles))
        await monitoring.arrived((s) => s.labels.__name__ === METRICS.up.name && s.labels.role === role);
      const ups = monitoring.series.filter((s) => s.labels.__name__ === METRICS.up.name);
      expect(new Set(ups.map((s) => s.labels.instance))).toEqual(new Set([os.hostname()]));
      expect(ups.every((s) => s.samples[0].value === 1)).toBe(true);
      // The series a fresh process has (labelled ones appear with their first event): the queue gauges the
      // DeadLetters alert reads, n8n's probe.
      const names = new Set(monitoring.series.map((s) => s.labels.__name__));
      for (const name of [METRICS.deadLetterDepth.name, METRICS.n8nUp.name, METRICS.queueDepth.name])
        expect({ name, arrived: names.has(name) }).toEqual({ name, arrived: true });
      expect([...names].filter((name) => !catalogMetricFor(name, METRIC_LIST))).toEqual([]);
      expect(monitoring.refused).toEqual([]);
    },
    async expectEventDelivered({ local }) {
      const marker = await commitOutboxEvent(local.databaseUrl);
      const mine = () => ibm.notifications.some((n) => (n.body.data as { marker?: string }).marker === marker);
      // Other events may come first; wait for more until ours is among them.
      while (!mine()) await ibm.received(ibm.notifications.length + 1);
      expect(ibm.notifications.map((n) => n.instanceId)).toEqual(ibm.notifications.map(() => BOOT_INSTANCE));
    },
    close: async () => {
      await ibm.close();
      await monitoring.close();
    },
  };
}
