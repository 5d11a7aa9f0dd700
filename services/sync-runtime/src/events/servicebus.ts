/**
 * Azure: a Service Bus topic, one subscription per internal service with a correlation filter on the
 * message subject (the event type). Events go in CloudEvents structured mode (the AMQP binding's
 * `application/cloudevents+json` body); the message id is the event id, so the topic's duplicate
 * detection drops a redelivery.
 */
import type { ServiceBusMessage, ServiceBusMessageBatch } from '@azure/service-bus';
import type { CloudEvent } from '@data-sync/config/events';
import type { EventBus } from './bus';

type Batch = Pick<ServiceBusMessageBatch, 'tryAddMessage' | 'count'>;

/** The part of a ServiceBusSender this binding uses (an SDK fake in tests). */
export interface TopicSender<B extends Batch = ServiceBusMessageBatch> {
  createMessageBatch(): Promise<B>;
  sendMessages(batch: B): Promise<void>;
  close(): Promise<void>;
}

export function serviceBusMessage(event: CloudEvent): ServiceBusMessage {
  return {
    messageId: event.id,
    subject: event.type,
    contentType: 'application/cloudevents+json; charset=utf-8',
    body: event,
    applicationProperties: {
      'cloudEvents:specversion': '1.0',
      'cloudEvents:type': event.type,
      'cloudEvents:id': event.id,
    },
  };
}

export function createServiceBusBus<B extends Batch>(options: {
  sender: TopicSender<B>;
  close?: () => Promise<void>;
}): EventBus {
  const { sender } = options;
  return {
    kind: 'servicebus',
    async publish(events) {
      let batch = await sender.createMessageBatch();
      for (const event of events) {
        if (batch.tryAddMessage(serviceBusMessage(event))) continue;
        if (!batch.count) throw new Error(`event ${event.id} is larger than a Service Bus message may be`);
        await sender.sendMessages(batch);
        batch = await sender.createMessageBatch();
        if (!batch.tryAddMessage(serviceBusMessage(event)))
          throw new Error(`event ${event.id} is larger than a Service Bus message may be`);
      }
      if (batch.count) await sender.sendMessages(batch);
    },
    async close() {
      await sender.close();
      await options.close?.();
    },
  };
}
