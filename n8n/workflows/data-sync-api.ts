/**
 * Workflows that use this service's API with an operator token (DATA_SYNC_API_URL is the runtime's
 * public URL): one starts a sync when its webhook is called; the other looks for failed runs every
 * few minutes (the runtime sends no notifications of its own) and posts each new one to
 * ALERT_WEBHOOK_URL (a Slack-style incoming webhook, kept in the secret's settings).
 */
import { CREDENTIALS } from '../credentials';
import { WEBHOOKS } from '../webhooks';
import { everyMinutes, onDemand, filterTrue, httpRequest, splitOut, webhookTrigger } from './nodes';
import { linearWorkflow, setting, type N8nWorkflowJson } from './workflow';

export const TRIGGER_SYNC_ID = 'dsTriggerSync001';
export const SYNC_FAILURE_ALERT_ID = 'dsSyncFailAlert1';
export const FAILURE_CHECK_MINUTES = 5;

export function triggerSync(): N8nWorkflowJson {
  return linearWorkflow({
    id: TRIGGER_SYNC_ID,
    name: 'Trigger Data Sync',
    nodes: [
      webhookTrigger('Webhook Trigger', WEBHOOKS.triggerSync),
      httpRequest('Data Sync API', {
        method: 'POST',
        url: `=${setting('DATA_SYNC_API_URL')}/api/sync/trigger/{{ encodeURIComponent($json.body.integration) }}`,
        bearer: CREDENTIALS.dataSyncApi,
        jsonBody: '={{ JSON.stringify({ full: $json.body.full === true }) }}',
      }),
    ],
  });
}

export function syncFailureAlert(): N8nWorkflowJson {
  return linearWorkflow({
    id: SYNC_FAILURE_ALERT_ID,
    name: 'Sync Failure Alert',
    alsoStartedBy: onDemand(),
    nodes: [
      everyMinutes('Schedule Trigger', FAILURE_CHECK_MINUTES),
      httpRequest('Failed Runs', {
        method: 'GET',
        url: `${setting('DATA_SYNC_API_URL')}/api/sync/history`,
        bearer: CREDENTIALS.dataSyncApi,
        query: { status: 'failed', limit: '100' },
      }),
      splitOut('Each Run', 'runs'),
      // Runs that failed since the previous check; each is reported once.
      filterTrue(
        'New Failures',
        `={{ !!$json.finishedAt && DateTime.fromISO($json.finishedAt) > $now.minus({ minutes: ${FAILURE_CHECK_MINUTES} }) }}`,
      ),
      httpRequest('Notify', {
        method: 'POST',
        url: setting('ALERT_WEBHOOK_URL'),
        jsonBody:
          "={{ JSON.stringify({ text: 'Data sync run ' + $json.id + ' of ' + $json.integration + ' failed: ' + $json.error, run: $json }) }}",
      }),
    ],
  });
}
