import { SNSClient } from '@aws-sdk/client-sns';
import { createSnsBus } from '../sns';
import type { EventBusOpener } from './index';

/**
 * AWS's SNS topic (DATA_SYNC_EVENTS=sns), in the topic's own region (from its ARN), with the task role's
 * credentials from the default chain; AWS_ENDPOINT_URL_SNS (read by the SDK) points it at an emulator.
 */
export const snsEventBus: EventBusOpener = (options) => {
  if (options.kind !== 'sns') throw new Error(`the SNS bus was asked to open a ${options.kind} bus`);
  return createSnsBus({ topicArn: options.topicArn, client: new SNSClient({ region: options.region }) });
};
