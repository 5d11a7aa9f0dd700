/**
 * Microsoft Dynamics 365 connector over the Dataverse Web API (OData v4, `/api/data/v9.2`). Pulls use
 * change tracking: a full sync pages the table (`Prefer: odata.track-changes, odata.maxpagesize`)
 * and its last page hands out an `@odata.deltaLink`; every later pull reads that link, which lists the
 * rows changed since and the deleted ones (`$deletedEntity`). The cursor is the vendor's own link.
 * Pushes upsert by an alternate key (`PATCH /contacts(emailaddress1='…')`), deletes go by id, the
 * token is Microsoft Entra ID client credentials for `<org>/.default`, and service protection limits
 * (429 with Retry-After) are waited out by the shared client. Webhooks come from a registered service
 * endpoint with WebhookKey authentication (`?code=`).
 */
import { timingSafeEqual } from 'crypto';
import {
  IntegrationError,
  checkConnection,
  WebhookRejected,
  type Connector,
  type ConnectorContext,
  type ConnectorModule,
  type VendorRecord,
  type WebhookEvents,
  type WebhookRequest,
} from '../../connector';
import { VendorHttp } from '../../http/vendor-http';
import { ClientCredentials } from '../shared/client-credentials';
import { buildBatch, parseBatchResponse, type BatchRequest } from '../shared/odata-batch';
import { dynamicsConfigSchema, type DynamicsConfig } from './config';

export { dynamicsConfigSchema, type DynamicsConfig } from './config';

/** Columns read per table: the ones the mappings use, with the platform's id and timestamps. */
const COLUMNS: Record<string, { id: string; select: readonly string[] }> = {
  contacts: {
    id: 'contactid',
    select: [
      'contactid',
      'firstname',
      'lastname',
      'fullname',
      'emailaddress1',
      'telephone1',
      'mobilephone',
      'jobtitle',
      'company',
      'createdon',
      'modifiedon',
      '_parentcustomerid_value',
    ],
  },
  accounts: {
    id: 'accountid',
    select: [
      'accountid',
      'name',
      'accountnumber',
      'emailaddress1',
      'telephone1',
      'websiteurl',
      'createdon',
      'modifiedon',
    ],
  },
};
const READ_ONLY = new Set([
  'id',
  'contactid',
  'accountid',
  'fullname',
  'createdon',
  'modifiedon',
  'versionnumber',
  '_parentcustomerid_value',
]);

type Row = Record<string, unknown>;

interface Cursor {
  /** The next page of a full sync, or the delta link it ended with. */
  readonly next?: string;
  readonly delta?: string;
}

function readCursor(text: string | null): Cursor | null {
  if (text === null) return null;
  try {
    const cursor = JSON.parse(text) as Cursor;
    if (typeof cursor.next === 'string' || typeof cursor.delta === 'string') return cursor;
  } catch {
    // Falls through to the error below.
  }
  throw new IntegrationError('dynamics', 'invalid_config', `unreadable pull cursor: ${text.slice(0, 80)}`);
}

function table(object: string): { id: string; select: readonly string[] } {
  const spec = COLUMNS[object];
  if (!spec)
    throw new IntegrationError(
      'dynamics',
      'invalid_config',
      `unknown Dataverse table "${object}" (known: ${Object.keys(COLUMNS).join(', ')})`,
    );
  return spec;
}

const quote = (value: string) => `'${value.replace(/'/g, "''")}'`;

function dataverseMessage(body: unknown): string | undefined {
  const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
  if (error?.message) return `${error.code ?? 'error'}: ${error.message}`;
  return undefined;
}

export function createDynamics(config: DynamicsConfig, context: ConnectorContext = {}): Connector {
  const org = config.orgUrl.replace(/\/+$/, '');
  const credentials = new ClientCredentials({
    integration: 'dynamics',
    tokenUrl:
      config.tokenUrl ?? `https://login.microsoftonline.com/${encodeURIComponent(config.tenantId)}/oauth2/v2.0/token`,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    scope: `${org}/.default`,
    clientAuth: 'form',
    context,
  });
  const http = new VendorHttp({
    integration: 'dynamics',
    baseUrl: `${org}/api/data/v9.2`,
    context,
    auth: async () => ({
      authorization: `Bearer ${await credentials.accessToken()}`,
      'odata-version': '4.0',
      'odata-maxversion': '4.0',
    }),
    onUnauthorized: async () => {
      credentials.invalidate();
      return true;
    },
    errorMessage: dataverseMessage,
  });

  const keyOf = (object: string) => {
    const key = config.alternateKeys[object];
    if (!key)
      throw new IntegrationError(
        'dynamics',
        'invalid_config',
        `no alternate key configured for ${object}: pushes upsert by one (alternateKeys)`,
      );
    return key;
  };

  async function idsWhere(object: string, column: string, value: string): Promise<string[]> {
    const spec = table(object);
    const body = await http.json<{ value: Row[] }>({
      path: `/${object}`,
      query: { $select: spec.id, $filter: `${column} eq ${quote(value)}` },
    });
    return body.value.map((r) => String(r[spec.id]));
  }

  return {
    test: () =>
      checkConnection(async () => {
        const me = await http.json<{ OrganizationId?: string }>({ path: '/WhoAmI' });
        return `connected to organization ${me.OrganizationId ?? 'unknown'}`;
      }),

    async pull(object, cursorText) {
      const spec = table(object);
      const cursor = readCursor(cursorText);
      const link = cursor?.next ?? cursor?.delta;
      // The links are the vendor's; only their host is checked, so a stored cursor cannot send the token elsewhere.
      if (link && new URL(link).origin !== new URL(org).origin)
        throw new IntegrationError('dynamics', 'invalid_config', `cursor link points outside ${org}`);
      const body = await http.json<{ value: Row[]; '@odata.nextLink'?: string; '@odata.deltaLink'?: string }>({
        path: link ?? `/${object}`,
        query: link ? undefined : { $select: spec.select.join(',') },
        headers: { prefer: `odata.track-changes,odata.maxpagesize=${config.pageSize}` },
      });
      const isDeleted = (row: Row) =>
        typeof row['@odata.context'] === 'string' && String(row['@odata.context']).endsWith('$deletedEntity');
      // `id` (the row's primary key) keys the raw replica, as every connector's records do.
      const records: VendorRecord[] = body.value
        .filter((r) => !isDeleted(r))
        .map(({ '@odata.etag': _etag, ...row }) => ({ id: String(row[spec.id]), ...row }));
      const deletedIds = body.value.filter(isDeleted).map((r) => String(r.id));
      const nextLink = body['@odata.nextLink'];
      const deltaLink = body['@odata.deltaLink'];
      if (!nextLink && !deltaLink)
        throw new IntegrationError(
          'dynamics',
          'vendor_error',
          `${object}: the last page carries no @odata.deltaLink: is change tracking enabled on the table?`,
        );
      const next: Cursor = nextLink ? { next: nextLink } : { delta: deltaLink };
      return { records, deletedIds, cursor: JSON.stringify(next), done: !nextLink };
    },

    async push(object, records) {
      table(object);
      const key = keyOf(object);
      const failed: { key: string; reason: string }[] = [];
      const upserts: { key: string; request: BatchRequest }[] = [];
      for (const record of records) {
        const value = record[key];
        if (typeof value !== 'string' || !value) {
          failed.push({ key: '', reason: `missing ${key}, the alternate key pushes upsert by` });
          continue;
        }
        const fields = Object.fromEntries(
          Object.entries(record).filter(
            ([k, v]) => !READ_ONLY.has(k) && k !== key && !k.startsWith('@') && v !== undefined,
          ),
        );
        // An upsert: PATCH by alternate key creates the row when none holds the key, so a resent batch is safe.
        upserts.push({
          key: value,
          request: { method: 'PATCH', path: `${object}(${key}=${encodeURIComponent(quote(value))})`, json: fields },
        });
      }
      let upserted = 0;
      for (let i = 0; i < upserts.length; i += config.batchSize) {
        const chunk = upserts.slice(i, i + config.batchSize);
        const batch = buildBatch(
          chunk.map((u) => [u.request]),
          `${org}/api/data/v9.2`,
        );
        const response = await http.request<string>({
          method: 'POST',
          path: '/$batch',
          body: batch.body,
          // Without continue-on-error Dataverse stops the batch at its first failed request.
          headers: { 'content-type': batch.contentType, accept: 'application/json', prefer: 'odata.continue-on-error' },
        });
        const answers = parseBatchResponse(response.headers.get('content-type') ?? '', String(response.body ?? ''));
        chunk.forEach((upsert, index) => {
          const [answer] = answers[index] ?? [];
          if (answer && answer.status < 300) upserted++;
          else if (answer?.status === 401 || answer?.status === 403)
            throw new IntegrationError('dynamics', 'auth', `$batch request -> ${answer.status}`, answer.status);
          else
            failed.push({
              key: upsert.key,
              reason: answer
                ? `PATCH ${upsert.request.path} -> ${answer.status}: ${dataverseMessage(answer.body) ?? 'refused'}`
                : 'not answered in the $batch response',
            });
        });
      }
      return { upserted, failed };
    },

    async delete(object, ids) {
      table(object);
      for (const id of ids) {
        if (!/^[0-9a-f-]{36}$/i.test(id))
          throw new IntegrationError('dynamics', 'invalid_config', `not a Dataverse row id: ${id}`);
        // 404: already deleted, the state asked for.
        await http.request({ method: 'DELETE', path: `/${object}(${id})`, accept: [404] });
      }
    },

    async erase(email) {
      if (!/^[^\s@]+@[^\s@]+$/.test(email))
        throw new IntegrationError('dynamics', 'invalid_config', `erase needs an email address, got "${email}"`);
      const ids = await idsWhere('contacts', 'emailaddress1', email.toLowerCase());
      for (const id of ids) await http.request({ method: 'DELETE', path: `/contacts(${id})`, accept: [404] });
      // Deleting a row removes it; what auditing or the recycle bin keeps is the environment's retention setting.
      return {
        permanent: false,
        ids,
        reason:
          'Dataverse deletes the contact rows; audit history and, where the environment enables it, the recycle bin keep copies for their configured retention',
      };
    },
  };
}

function queryParam(url: string, name: string): string | undefined {
  try {
    return new URL(url).searchParams.get(name) ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * A Dataverse webhook: the RemoteExecutionContext of one Create, Update or Delete, with the endpoint's
 * WebhookKey in `?code=`. The key authenticates the sender but signs nothing, so the organization in
 * the body must also be ours; Dataverse retries failed deliveries with the same context, so the event
 * id comes from it (correlation, row, message and stage).
 */
export function verifyDynamicsWebhook(config: DynamicsConfig, request: WebhookRequest): WebhookEvents {
  if (!config.webhookKey) throw new WebhookRejected('no Dataverse webhook key is configured for this integration', 404);
  if (request.method.toUpperCase() !== 'POST')
    throw new WebhookRejected(`webhooks are POSTed, got ${request.method}`, 405);
  const given = Buffer.from(queryParam(request.url, 'code') ?? '');
  const expected = Buffer.from(config.webhookKey);
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new WebhookRejected('missing or wrong webhook key (?code=)');
  let context: Record<string, unknown>;
  try {
    context = JSON.parse(request.rawBody.toString('utf8'));
  } catch {
    throw new WebhookRejected('body is not JSON', 400);
  }
  const { MessageName, PrimaryEntityName, PrimaryEntityId, CorrelationId, OrganizationId, Stage } = context ?? {};
  if (typeof MessageName !== 'string' || typeof PrimaryEntityId !== 'string' || typeof CorrelationId !== 'string') {
    throw new WebhookRejected(
      'not a RemoteExecutionContext (MessageName, PrimaryEntityId and CorrelationId are required)',
      400,
    );
  }
  if (config.organizationId && String(OrganizationId).toLowerCase() !== config.organizationId.toLowerCase())
    throw new WebhookRejected(`webhook for organization ${String(OrganizationId)}`, 403);
  const object =
    PrimaryEntityName === 'contact'
      ? 'contacts'
      : PrimaryEntityName === 'account'
        ? 'accounts'
        : String(PrimaryEntityName);
  return {
    events: [
      {
        id: `dynamics:${CorrelationId}:${PrimaryEntityId}:${MessageName}:${String(Stage ?? '')}`,
        type: `${String(PrimaryEntityName)}.${MessageName.toLowerCase()}`,
        object,
        recordId: PrimaryEntityId,
        payload: context,
      },
    ],
  };
}

export const dynamics: ConnectorModule<DynamicsConfig> = {
  system: 'dynamics',
  family: 'erp',
  configSchema: dynamicsConfigSchema,
  create: createDynamics,
  verifyWebhook: verifyDynamicsWebhook,
};
