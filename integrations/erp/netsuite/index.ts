/**
 * Oracle NetSuite connector over SuiteTalk REST. Pulls are SuiteQL keyset pages (`lastmodifieddate`,
 * then `id`) of `customer` or `contact`, so a record edited mid-run moves behind the cursor; SuiteQL
 * reports no deletes, so they are found by a sweep of the live ids (`listIds`). Pushes upsert by
 * external id (`PUT /record/v1/customer/eid:<email>`). Authentication is OAuth 2.0 client credentials
 * (M2M) with a PS256 client assertion signed by the mapped certificate's key, or token-based
 * authentication (OAuth 1.0a, HMAC-SHA256, realm = account id) signing every request. NetSuite has no
 * outbound webhooks of its own (only SuiteScript could post), so every delivery is refused.
 */
import { constants, createPrivateKey, sign, type KeyObject } from 'crypto';
import {
  IntegrationError,
  checkConnection,
  WebhookRejected,
  type Connector,
  type ConnectorContext,
  type ConnectorModule,
  type VendorRecord,
  type WebhookEvents,
} from '../../connector';
import { VendorHttp } from '../../http/vendor-http';
import { LOOK_BACK_MS, remember, unseen, type Versions } from '../../look-back';
import { oauth1Header } from '../../http/oauth1';
import { ClientCredentials } from '../shared/client-credentials';
import { netsuiteConfigSchema, type NetSuiteConfig } from './config';

export { netsuiteConfigSchema, type NetSuiteConfig } from './config';

const STAMP = `'YYYY-MM-DD"T"HH24:MI:SS'`;
/** Columns read per record type; the timestamps come back as ISO text through TO_CHAR. */
const COLUMNS: Record<string, readonly string[]> = {
  customer: ['id', 'entityid', 'externalid', 'isperson', 'firstname', 'lastname', 'companyname', 'email', 'phone'],
  contact: ['id', 'entityid', 'externalid', 'firstname', 'lastname', 'company', 'email', 'phone'],
};
/** REST field names a push may write, per type (the record API is camelCase, SuiteQL lower case). */
const WRITABLE: Record<string, readonly string[]> = {
  customer: ['firstName', 'lastName', 'companyName', 'email', 'phone', 'isPerson'],
  contact: ['firstName', 'lastName', 'company', 'email', 'phone'],
};

interface Position {
  /** lastmodifieddate (account time, whole seconds) and id of a record read. */
  readonly at: string;
  readonly id: number;
}

interface Cursor extends Position {
  /** Versions emitted inside the look-back window behind `at` (absent in cursors written before it). */
  readonly recent?: Versions;
  /** Where the run in progress continues: its keyset position, behind `at` while it re-reads the window. */
  readonly scan?: Position;
}

const STAMP_TEXT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/;
const stampMs = (at: string) => Date.parse(`${at}Z`);
const versionOf = (row: Record<string, string>) => ({ id: String(row.id), ms: stampMs(row.lastmodifieddate) });

function readCursor(text: string | null): Cursor | null {
  // An empty cursor is what a full pull of an empty record type leaves.
  if (text === null || text === '') return null;
  try {
    const cursor = JSON.parse(text) as Cursor;
    if (
      STAMP_TEXT.test(cursor.at) &&
      Number.isInteger(cursor.id) &&
      (cursor.scan === undefined || (STAMP_TEXT.test(cursor.scan.at) && Number.isInteger(cursor.scan.id)))
    )
      return cursor;
  } catch {
    // Falls through to the error below.
  }
  throw new IntegrationError('netsuite', 'invalid_config', `unreadable pull cursor: ${text.slice(0, 80)}`);
}

/** The later of two keyset positions. */
function later(a: Position, b: Position | undefined): Position {
  if (!b) return a;
  const [ma, mb] = [stampMs(a.at), stampMs(b.at)];
  return mb > ma || (mb === ma && b.id > a.id) ? { at: b.at, id: b.id } : { at: a.at, id: a.id };
}

/**
 * The SuiteQL condition a page starts from: after the run's keyset position; a new run of a cursor that
 * remembers versions starts the look-back window behind its newest change (cursors written before the
 * window resume after it, and gain the window on this advance).
 */
function pageStart(cursor: Cursor | null): string {
  if (!cursor) return '';
  if (cursor.scan) return afterPosition(cursor.scan);
  if (!cursor.recent) return afterPosition(cursor);
  const from = new Date(stampMs(cursor.at) - LOOK_BACK_MS).toISOString().slice(0, 19);
  return ` WHERE lastmodifieddate >= ${timestamp(from)}`;
}

const afterPosition = (at: Position) =>
  ` WHERE lastmodifieddate > ${timestamp(at.at)} OR (lastmodifieddate = ${timestamp(at.at)} AND id > ${at.id})`;

function recordType(object: string): string {
  if (!COLUMNS[object])
    throw new IntegrationError(
      'netsuite',
      'invalid_config',
      `unknown NetSuite record type "${object}" (known: ${Object.keys(COLUMNS).join(', ')})`,
    );
  return object;
}

const quote = (value: string) => `'${value.replace(/'/g, "''")}'`;
const timestamp = (at: string) => `TO_TIMESTAMP(${quote(at.replace('T', ' '))}, 'YYYY-MM-DD HH24:MI:SS')`;

function netsuiteMessage(body: unknown): string | undefined {
  const details = (body as { 'o:errorDetails'?: { detail?: string; 'o:errorCode'?: string }[] } | undefined)?.[
    'o:errorDetails'
  ];
  if (details?.length) return details.map((d) => `${d['o:errorCode'] ?? 'ERROR'}: ${d.detail ?? ''}`).join('; ');
  return undefined;
}

const isConcurrencyLimit = (body: unknown) => JSON.stringify(body ?? '').includes('CONCURRENCY_LIMIT_EXCEEDED');

/** The REST host of an account: lower case, `_` as `-` (sandbox `1234567_SB1` -> `1234567-sb1`). */
export function netsuiteHost(accountId: string): string {
  return `https://${accountId.toLowerCase().replace(/_/g, '-')}.suitetalk.api.netsuite.com`;
}

export function createNetSuite(config: NetSuiteConfig, context: ConnectorContext = {}): Connector {
  const base = (config.baseUrl ?? netsuiteHost(config.accountId)).replace(/\/+$/, '');
  const tokenUrl = `${base}/services/rest/auth/oauth2/v1/token`;
  let key: KeyObject | undefined;
  const now = context.now ?? Date.now;
  const assertion = () => {
    key ??= createPrivateKey(config.privateKey!);
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const iat = Math.floor(now() / 1000);
    const unsigned = `${encode({ typ: 'JWT', alg: 'PS256', kid: config.certificateId })}.${encode({ iss: config.clientId, scope: 'rest_webservices', aud: tokenUrl, iat, exp: iat + 3600 })}`;
    const signature = sign('sha256', Buffer.from(unsigned), {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    });
    return `${unsigned}.${signature.toString('base64url')}`;
  };
  // The account's concurrency limit: NetSuite names it in the body and sends no Retry-After.
  const tooManyRequestsWaitMs = (body: unknown) => (isConcurrencyLimit(body) ? config.concurrencyWaitMs : undefined);
  const tba = config.tba;
  // M2M exchanges a signed assertion for bearer tokens; token-based authentication signs every request.
  const credentials = tba
    ? undefined
    : new ClientCredentials({
        integration: 'netsuite',
        tokenUrl,
        clientId: config.clientId!,
        assertion,
        context,
        tooManyRequestsWaitMs,
      });
  const signed = (method: string, url: URL, token: NonNullable<NetSuiteConfig['tba']>) =>
    oauth1Header(
      method,
      url,
      {
        consumerKey: token.consumerKey,
        consumerSecret: token.consumerSecret,
        token: token.tokenId,
        tokenSecret: token.tokenSecret,
      },
      // The realm is the account id as NetSuite writes it: upper case, a sandbox's suffix after `_`.
      { signatureMethod: 'HMAC-SHA256', realm: config.accountId.toUpperCase(), now: now() },
    );
  const http = new VendorHttp({
    integration: 'netsuite',
    baseUrl: base,
    context,
    auth: async ({ method, url }) => ({
      authorization: tba ? signed(method, url, tba) : `Bearer ${await credentials!.accessToken()}`,
    }),
    onUnauthorized: async () => {
      // A refused signature does not get better by signing again.
      if (!credentials) return false;
      credentials.invalidate();
      return true;
    },
    errorMessage: netsuiteMessage,
    tooManyRequestsWaitMs,
  });

  async function suiteql<T = Record<string, string>>(
    q: string,
    limit: number,
    offset = 0,
  ): Promise<{ items: T[]; hasMore: boolean }> {
    return http.json({
      method: 'POST',
      path: '/services/rest/query/v1/suiteql',
      query: { limit, offset },
      json: { q },
      headers: { prefer: 'transient' },
    });
  }

  return {
    test: () =>
      checkConnection(async () => {
        await http.request({ path: '/services/rest/record/v1/customer', query: { limit: 1 } });
        return `account ${config.accountId} readable`;
      }),

    async pull(object, cursorText) {
      const type = recordType(object);
      const cursor = readCursor(cursorText);
      const select = [
        ...COLUMNS[type],
        `TO_CHAR(datecreated, ${STAMP}) AS datecreated`,
        `TO_CHAR(lastmodifieddate, ${STAMP}) AS lastmodifieddate`,
      ].join(', ');
      const page = await suiteql(
        `SELECT ${select} FROM ${type}${pageStart(cursor)} ORDER BY lastmodifieddate, id`,
        config.pageSize,
      );
      const last = page.items[page.items.length - 1];
      const read = last ? { at: last.lastmodifieddate, id: Number(last.id) } : undefined;
      const newest = cursor ? later(cursor, read) : read;
      // The window re-read skips the versions emitted already; a change exposed late shows a new one.
      const emitted = unseen(page.items, cursor?.recent, versionOf);
      const recent = newest ? remember(cursor?.recent, emitted, versionOf, stampMs(newest.at)) : undefined;
      const next: Cursor | undefined =
        newest && (page.hasMore ? { ...newest, recent, scan: read ?? cursor?.scan } : { ...newest, recent });
      // SuiteQL prints the account's time without a zone; it is read as UTC (see the README).
      const records: VendorRecord[] = emitted.map(({ links: _links, ...row }) => ({
        ...row,
        datecreated: row.datecreated ? `${row.datecreated}Z` : undefined,
        lastmodifieddate: row.lastmodifieddate ? `${row.lastmodifieddate}Z` : undefined,
      }));
      return { records, deletedIds: [], cursor: next ? JSON.stringify(next) : '', done: !page.hasMore };
    },

    async *listIds(object) {
      const type = recordType(object);
      for (let offset = 0; ; offset += 1000) {
        const page = await suiteql<{ id: string }>(`SELECT id FROM ${type} ORDER BY id`, 1000, offset);
        for (const row of page.items) yield String(row.id);
        if (!page.hasMore) return;
      }
    },

    async push(object, records) {
      const type = recordType(object);
      let upserted = 0;
      const failed: { key: string; reason: string }[] = [];
      for (const record of records) {
        const email = typeof record.email === 'string' ? record.email.toLowerCase() : '';
        if (!email) {
          failed.push({ key: '', reason: 'missing email, the external id pushes upsert by' });
          continue;
        }
        const fields: Record<string, unknown> = Object.fromEntries(
          Object.entries(record).filter(([k, v]) => WRITABLE[type].includes(k) && v !== undefined),
        );
        if (type === 'customer' && fields.isPerson === undefined)
          fields.isPerson = !fields.companyName || Boolean(fields.firstName || fields.lastName);
        try {
          // Upsert by external id: creates or updates, so a retry is safe.
          await http.request({
            method: 'PUT',
            path: `/services/rest/record/v1/${type}/eid:${encodeURIComponent(email)}`,
            json: { ...fields, subsidiary: { id: config.subsidiaryId } },
          });
          upserted++;
        } catch (error) {
          if (error instanceof IntegrationError && error.kind === 'vendor_error')
            failed.push({ key: email, reason: error.message });
          else throw error;
        }
      }
      return { upserted, failed };
    },

    async delete(object, ids) {
      const type = recordType(object);
      for (const id of ids) {
        if (!/^\d+$/.test(id))
          throw new IntegrationError('netsuite', 'invalid_config', `not a NetSuite internal id: ${id}`);
        // 404: already deleted, the state asked for.
        await http.request({ method: 'DELETE', path: `/services/rest/record/v1/${type}/${id}`, accept: [404] });
      }
    },

    async erase(email) {
      if (!/^[^\s@]+@[^\s@]+$/.test(email))
        throw new IntegrationError('netsuite', 'invalid_config', `erase needs an email address, got "${email}"`);
      const ids: string[] = [];
      for (const type of Object.keys(COLUMNS)) {
        const found = await suiteql<{ id: string }>(
          `SELECT id FROM ${type} WHERE email = ${quote(email.toLowerCase())} ORDER BY id`,
          1000,
        );
        for (const { id } of found.items) {
          await http.request({ method: 'DELETE', path: `/services/rest/record/v1/${type}/${id}`, accept: [404] });
          ids.push(`${type}:${id}`);
        }
      }
      return {
        permanent: false,
        ids,
        reason:
          'NetSuite deletes the customer and contact records; their system notes and the deleted-record log keep the ids and change history, which no API removes',
      };
    },
  };
}

export function verifyNetSuiteWebhook(): WebhookEvents {
  throw new WebhookRejected('NetSuite sends no webhooks: changes are pulled with SuiteQL', 404);
}

export const netsuite: ConnectorModule<NetSuiteConfig> = {
  system: 'netsuite',
  family: 'erp',
  configSchema: netsuiteConfigSchema,
  create: createNetSuite,
  // The SuiteQL reads report no deletes.
  sweepObjects: Object.keys(COLUMNS),
  verifyWebhook: verifyNetSuiteWebhook,
};
