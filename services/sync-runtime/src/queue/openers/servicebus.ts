import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import { ServiceBusAdministrationClient, ServiceBusClient } from '@azure/service-bus';
import type { AzureCredential, ServiceBusOptions } from '../cloud-bindings';
import type { QueueOpener } from '../open-queue';
import { createServiceBusBinding } from '../servicebus-binding';

/** The Entra credential: the user-assigned managed identity the stack deploys, else the default chain. */
export const serviceBusCredential = (o: {
  managedIdentityClientId?: string;
  credential?: AzureCredential;
}): AzureCredential =>
  o.credential ??
  (o.managedIdentityClientId
    ? new ManagedIdentityCredential({ clientId: o.managedIdentityClientId })
    : new DefaultAzureCredential());

/** Azure Service Bus (DATA_SYNC_QUEUE=servicebus), by connection string or by managed identity. */
export function openServiceBus(o: ServiceBusOptions) {
  let client: ServiceBusClient;
  let admin: ServiceBusAdministrationClient;
  if ('connectionString' in o) {
    client = new ServiceBusClient(o.connectionString);
    admin = new ServiceBusAdministrationClient(o.connectionString);
  } else {
    const credential = serviceBusCredential(o);
    client = new ServiceBusClient(o.fullyQualifiedNamespace, credential);
    admin = new ServiceBusAdministrationClient(o.fullyQualifiedNamespace, credential);
  }
  return createServiceBusBinding({
    client,
    admin,
    queue: o.queue,
    ownsClient: true,
    retry: o.retry,
    random: o.random,
    dedupe: o.dedupe,
  });
}

export const serviceBusQueue: QueueOpener = (config) => openServiceBus(config.cloudQueue as ServiceBusOptions);
