import { generateKeyPairSync, randomUUID } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { startFakeOns } from '@data-sync/sync-runtime/src/events/testing/fake-ons';
import { commitOutboxEvent } from './outbox-event';
import { type RuntimeProcess, resourcesOf, runsRuntime } from './runtime-process';
import type { LocalBus } from './stack-boot';

interface OciContainer {
  display_name: string;
  arguments?: string[];
  command?: string[];
  environment_variables?: Record<string, string>;
}

/**
 * The container instances' runtime containers. Their secrets arrive as files: the instance's secrets
 * sidecar writes each Vault secret (`... --secret-id <ocid> ... > /secrets/<file>`) and the pgpass line.
 */
export function ociContainers(stack: any): RuntimeProcess[] {
  return resourcesOf(stack, 'oci_container_instances_container_instance').flatMap(([name, instance]) => {
    const containers = instance.containers as OciContainer[];
    const sidecar = containers.find((c) => c.display_name === 'secrets')?.command?.join(' ') ?? '';
    const files: Record<string, string> = {};
    for (const [, id, file] of sidecar.matchAll(/--secret-id (\S+) .*?> (\/secrets\/\S+?)(?: &&|$)/g)) files[file] = id;
    if (/> \/secrets\/pgpass/.test(sidecar)) files['/secrets/pgpass'] = 'pgpass';
    return containers
      .filter((c) => runsRuntime(c.arguments))
      .map((c) => ({
        name: `oci_container_instances_container_instance.${name}/${c.display_name}`,
        command: c.arguments!,
        env: c.environment_variables ?? {},
        secrets: {},
        listed: Object.keys(c.environment_variables ?? {}),
        files,
      }));
  });
}

/**
 * OCI Notifications here: a PublishMessage stand-in that verifies signatures, and the resource
 * principal a container instance gets (its token and key as files, as OCI mounts them).
 */
export async function startOciBus(): Promise<LocalBus> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boot-oci-rp-'));
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const token = `boot-rpst-${randomUUID()}`;
  fs.writeFileSync(path.join(dir, 'rpst'), token);
  fs.writeFileSync(path.join(dir, 'rpst.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const ons = await startFakeOns({ token, publicKey });
  return {
    variables: { DATA_SYNC_OCI_NOTIFICATIONS_ENDPOINT: ons.url },
    extra: {
      OCI_RESOURCE_PRINCIPAL_VERSION: '2.2',
      OCI_RESOURCE_PRINCIPAL_RPST: path.join(dir, 'rpst'),
      OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: path.join(dir, 'rpst.pem'),
      OCI_RESOURCE_PRINCIPAL_REGION: 'us-ashburn-1',
    },
    async expectEventDelivered({ local }) {
      const marker = await commitOutboxEvent(local.databaseUrl);
      // Other events may come first; wait for more until ours is among them.
      for (let n = 1; ;) {
        const events = await ons.events(n);
        if (events.some((e) => e.data.marker === marker)) break;
        n = events.length + 1;
      }
      expect(ons.refused).toEqual([]);
    },
    async close() {
      await ons.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
