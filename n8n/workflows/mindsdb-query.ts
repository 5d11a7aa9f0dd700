/**
 * The design's MindsDB request: a plain-English query posted to the `mindsdb-query` webhook is sent
 * to MindsDB's `POST /api/v1/query` with the bearer key, and MindsDB's answer is the webhook's answer.
 * MINDSDB_API_URL is MindsDB's base URL (the design's https://mindsdb.com).
 */
import { CREDENTIALS } from '../credentials';
import { WEBHOOKS } from '../webhooks';
import { httpRequest, webhookTrigger } from './nodes';
import { linearWorkflow, setting, type N8nWorkflowJson } from './workflow';

export const MINDSDB_QUERY_ID = 'dsMindsdbQuery01';

export function mindsdbQuery(): N8nWorkflowJson {
  return linearWorkflow({
    id: MINDSDB_QUERY_ID,
    name: 'MindsDB Query',
    nodes: [
      webhookTrigger('Webhook Trigger', WEBHOOKS.mindsdbQuery),
      httpRequest('MindsDB', {
        method: 'POST',
        url: `${setting('MINDSDB_API_URL')}/api/v1/query`,
        bearer: CREDENTIALS.mindsdb,
        jsonBody: '={{ JSON.stringify({ query: $json.body.query }) }}',
      }),
    ],
  });
}
