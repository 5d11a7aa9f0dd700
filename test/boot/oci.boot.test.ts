/**
 * OCI as deployed: the container instances (the API per slot and the workers), secrets as files from the
 * sidecar, events to a signature-checking OCI Notifications stand-in with a resource principal. Each
 * instance's metrics relay, run beside its booted runtime, posts that runtime's /metrics to a
 * PostMetricData stand-in with the same principal.
 */
import { createPublicKey } from 'crypto';
import * as fs from 'fs';
import { METRICS } from '@data-sync/monitoring/metrics';
import { TEST_DATABASE_URL, describeWithService } from '@data-sync/test-services';
import { type RunningRelay, relayOf, startFakeTelemetryIngestion, startRelay } from '../support/oci-metrics-relay';
import { ociContainers, startOciBus } from './support/oci';
import { describeStoreQueueBoot, stackOf, withBootedStack } from './support/stack-boot';

describeStoreQueueBoot('oci', ociContainers, startOciBus);

describeWithService('OCI metrics relays beside the booted runtime', TEST_DATABASE_URL, () => {
  test("prod: every runtime instance's relay posts its runtime's data_sync_up with the instance dimension", async () => {
    const stack = stackOf('oci', 'prod');
    const processes = ociContainers(stack);
    const bus = await startOciBus();
    const principal = bus.extra;
    const ingestion = await startFakeTelemetryIngestion({
      token: fs.readFileSync(principal.OCI_RESOURCE_PRINCIPAL_RPST, 'utf8'),
      publicKey: createPublicKey(fs.readFileSync(principal.OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM)),
    });
    const relays: RunningRelay[] = [];
    try {
      await withBootedStack(
        'oci-relays-prod',
        processes,
        async ({ booted }) => {
          const expected = booted.map((b) => {
            // `oci_container_instances_container_instance.<name>/<container>`
            const name = b.process.name.split('/')[0].split('.')[1];
            const instance = stack.resource.oci_container_instances_container_instance[name];
            expect({ process: b.process.name, relay: Boolean(relayOf(instance)), serves: Boolean(b.url) }).toEqual({
              process: b.process.name,
              relay: true,
              serves: true,
            });
            relays.push(
              startRelay(instance, { scrapeOrigin: new URL(b.url!).origin, ingestionUrl: ingestion.url, principal }),
            );
            return { role: b.env.DATA_SYNC_ROLE, instance: String(instance.display_name) };
          });
          await ingestion.settled();
          // Each relay posts once at start; wait until every instance's round has come.
          for (let i = 0; i < 50; i++) {
            const instances = new Set(
              ingestion.calls.flatMap((c) => c.body.metricData.map((d) => d.dimensions.instance)),
            );
            if (expected.every((e) => instances.has(e.instance))) break;
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
          expect({ refused: ingestion.refused, output: relays.map((r) => r.output()).join('') }).toEqual({
            refused: [],
            output: '',
          });
          const up = ingestion.calls
            .flatMap((c) => c.body.metricData)
            .filter((d) => d.name === METRICS.up.name)
            .map((d) => ({ ...d.dimensions, value: d.datapoints[0].value }));
          expect(up).toEqual(expect.arrayContaining(expected.map((e) => ({ ...e, value: 1 }))));
        },
        { variables: bus.variables, extra: bus.extra },
      );
    } finally {
      for (const relay of relays) relay.stop();
      await ingestion.close();
      await bus.close();
    }
  }, 180_000);
});
