import { createOciNotificationsBus } from '../oci-notifications';
import type { EventBusOpener } from './index';

/** OCI's Notifications topic (DATA_SYNC_EVENTS=oci), signed with the container instance's resource principal. */
export const ociNotificationsEventBus: EventBusOpener = (options) => {
  if (options.kind !== 'oci') throw new Error(`the OCI Notifications bus was asked to open a ${options.kind} bus`);
  return createOciNotificationsBus({ topicId: options.topicId, endpoint: options.endpoint });
};
