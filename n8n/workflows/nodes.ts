/**
 * Typed constructors for the n8n nodes the workflows use, at the type versions of the pinned n8n
 * (2.41.1): parameter names and shapes as in that version's node definitions
 * (n8n-nodes-base/dist/node-definitions). Each returns a NodeSpec for `linearWorkflow`.
 */
import { CREDENTIALS } from '../credentials';
import type { WebhookDefinition } from '../webhooks';
import type { NodeSpec } from './workflow';

const BASE = 'n8n-nodes-base';

/** Webhook trigger 2.1 with header authentication; `lastNode` answers with the last node's first item. */
export function webhookTrigger(
  name: string,
  webhook: WebhookDefinition,
  responseMode: 'onReceived' | 'lastNode' = 'lastNode',
): NodeSpec {
  return {
    name,
    type: `${BASE}.webhook`,
    typeVersion: 2.1,
    webhookId: webhook.webhookId,
    parameters: {
      httpMethod: webhook.method,
      path: webhook.path,
      authentication: 'headerAuth',
      responseMode,
      ...(responseMode === 'lastNode' ? { responseData: 'firstEntryJson' } : {}),
      options: {},
    },
    credentials: [CREDENTIALS.webhook],
  };
}

/** Schedule trigger 1.4 every `minutes` minutes. */
export function everyMinutes(name: string, minutes: number): NodeSpec {
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 59)
    throw new Error(`schedule: minutes must be 1-59 (n8n's minutes interval), got ${minutes}`);
  return {
    name,
    type: `${BASE}.scheduleTrigger`,
    typeVersion: 1.4,
    parameters: { rule: { interval: [{ field: 'minutes', minutesInterval: minutes }] } },
  };
}

/** Execute Workflow Trigger 1.1 passing its input through: starts a workflow on demand. */
export function onDemand(name = 'Run Now'): NodeSpec {
  return { name, type: `${BASE}.executeWorkflowTrigger`, typeVersion: 1.1, parameters: { inputSource: 'passthrough' } };
}

/** Salesforce 1.1 `get` of one record by id, through the JWT bearer credential. */
export function salesforceGet(
  name: string,
  resource: 'contact' | 'account',
  id: string,
  options: { continueOnError?: boolean } = {},
): NodeSpec {
  return {
    name,
    type: `${BASE}.salesforce`,
    typeVersion: 1.1,
    parameters: { authentication: 'jwt', resource, operation: 'get', [`${resource}Id`]: id },
    credentials: [CREDENTIALS.salesforce],
    ...(options.continueOnError ? { onError: 'continueRegularOutput', alwaysOutputData: true } : {}),
  };
}

/** Postgres 2.7 upsert into `table` matching on `matchOn`, each column set by an expression. */
export function postgresUpsert(
  name: string,
  table: string,
  matchOn: string,
  columns: Record<string, string>,
): NodeSpec {
  if (!(matchOn in columns))
    throw new Error(`postgres upsert ${table}: the match column "${matchOn}" must be one of the columns`);
  return {
    name,
    type: `${BASE}.postgres`,
    typeVersion: 2.7,
    parameters: {
      operation: 'upsert',
      schema: { __rl: true, mode: 'list', value: 'public' },
      table: { __rl: true, mode: 'name', value: table },
      columns: {
        mappingMode: 'defineBelow',
        value: columns,
        matchingColumns: [matchOn],
        schema: Object.keys(columns).map((id) => ({
          id,
          displayName: id,
          required: id === matchOn,
          defaultMatch: false,
          display: true,
          type: 'string',
          canBeUsedToMatch: true,
        })),
      },
      options: {},
    },
    credentials: [CREDENTIALS.postgres],
  };
}

/** Postgres 2.7 query (no user input is interpolated into it). */
export function postgresQuery(name: string, query: string): NodeSpec {
  return {
    name,
    type: `${BASE}.postgres`,
    typeVersion: 2.7,
    parameters: { operation: 'executeQuery', query, options: {} },
    credentials: [CREDENTIALS.postgres],
  };
}

/** Mailchimp 1: add a member to a list (POST /lists/{list}/members) with merge fields. */
export function mailchimpAddMember(
  name: string,
  list: string,
  email: string,
  mergeFields: Record<string, string>,
  options: { continueOnError?: boolean } = {},
): NodeSpec {
  return {
    name,
    type: `${BASE}.mailchimp`,
    typeVersion: 1,
    parameters: {
      authentication: 'apiKey',
      resource: 'member',
      operation: 'create',
      list,
      email,
      status: 'subscribed',
      options: {},
      jsonParameters: false,
      mergeFieldsUi: {
        mergeFieldsValues: Object.entries(mergeFields).map(([field, value]) => ({ name: field, value })),
      },
    },
    credentials: [CREDENTIALS.mailchimp],
    ...(options.continueOnError ? { onError: 'continueRegularOutput', alwaysOutputData: true } : {}),
  };
}

/** HTTP Request 4.5 with a bearer credential and, for POST, a JSON body expression. */
export function httpRequest(
  name: string,
  spec: {
    method: 'GET' | 'POST';
    url: string;
    bearer?: (typeof CREDENTIALS)['mindsdb' | 'dataSyncApi'];
    jsonBody?: string;
    query?: Record<string, string>;
  },
): NodeSpec {
  return {
    name,
    type: `${BASE}.httpRequest`,
    typeVersion: 4.5,
    parameters: {
      method: spec.method,
      url: spec.url,
      ...(spec.bearer
        ? { authentication: 'genericCredentialType', genericAuthType: 'httpBearerAuth' }
        : { authentication: 'none' }),
      ...(spec.query
        ? {
            sendQuery: true,
            queryParameters: { parameters: Object.entries(spec.query).map(([n, value]) => ({ name: n, value })) },
          }
        : {}),
      ...(spec.jsonBody !== undefined ? { sendBody: true, specifyBody: 'json', jsonBody: spec.jsonBody } : {}),
      options: {},
    },
    ...(spec.bearer ? { credentials: [spec.bearer] } : {}),
  };
}

/** Split Out 1: one item per element of the array field. */
export function splitOut(name: string, field: string): NodeSpec {
  return { name, type: `${BASE}.splitOut`, typeVersion: 1, parameters: { fieldToSplitOut: field, options: {} } };
}

/** Filter 2.2 keeping the items for which a boolean expression is true. */
export function filterTrue(name: string, condition: string): NodeSpec {
  return {
    name,
    type: `${BASE}.filter`,
    typeVersion: 2.2,
    parameters: {
      conditions: {
        options: { caseSensitive: true, leftValue: '', typeValidation: 'strict', version: 2 },
        conditions: [
          {
            id: `${name}-condition`,
            leftValue: condition,
            rightValue: '',
            operator: { type: 'boolean', operation: 'true', singleValue: true },
          },
        ],
        combinator: 'and',
      },
      options: {},
    },
  };
}
