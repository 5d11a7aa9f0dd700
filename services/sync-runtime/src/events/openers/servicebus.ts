import { ServiceBusClient, type ServiceBusMessageBatch } from '@azure/service-bus';
import { serviceBusCredential } from '../../queue/openers/servicebus';
import { createServiceBusBus } from '../servicebus';
import type { EventBusOpener } from './index';

/** Azure's Service Bus topic (DATA_SYNC_EVENTS=servicebus), by connection string or managed identity. */
export const serviceBusEventBus: EventBusOpener = (options) => {
  if (options.kind !== 'servicebus') throw new Error(`the Service Bus bus was asked to open a ${options.kind} bus`);
  const c = options.connection;
  const client =
    'connectionString' in c
      ? new ServiceBusClient(c.connectionString)
      : new ServiceBusClient(c.host, serviceBusCredential({ managedIdentityClientId: c.clientId }));
  return createServiceBusBus<ServiceBusMessageBatch>({
    sender: client.createSender(options.topic),
    close: () => client.close(),
  });
};
