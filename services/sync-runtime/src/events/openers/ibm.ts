import { createIbmEventNotificationsBus } from '../ibm-event-notifications';
import { ibmIamToken } from '../ibm-iam-token';
import type { EventBusOpener } from './index';

/** IBM Cloud Event Notifications (DATA_SYNC_EVENTS=ibm), with an IAM token of the events service ID's key. */
export const ibmEventNotificationsEventBus: EventBusOpener = (options) => {
  if (options.kind !== 'ibm') throw new Error(`the Event Notifications bus was asked to open a ${options.kind} bus`);
  return createIbmEventNotificationsBus({
    instanceId: options.instanceId,
    sourceId: options.sourceId,
    url: options.url,
    token: ibmIamToken({ apiKey: options.apiKey, iamUrl: options.iamUrl }),
  });
};
