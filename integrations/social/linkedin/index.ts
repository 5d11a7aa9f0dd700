/**
 * LinkedIn Marketing API (versioned REST: `LinkedIn-Version`, `X-Restli-Protocol-Version: 2.0.0`),
 * OAuth 2.0 with a refresh token (the session keeps the access token, refreshed on expiry or 401).
 * Objects:
 * - `leads` in: Lead Gen Forms responses of the ad account (`/rest/leadFormResponses?q=owner`) with
 *   `submittedAtTimeRange` from the newest submission of the last complete run to the run's start,
 *   paged by `start`/`count`; answers are named by the form's predefined fields → contacts.
 * - `custom_audience` out: hashed members of a Matched Audiences DMP segment
 *   (`/rest/dmpSegments/{id}/users`, BATCH_CREATE of ADD / REMOVE).
 * LinkedIn offers no API to delete a lead form response: delete() refuses and erase() says what stays.
 */
import { createHash } from 'crypto';
import { z, type ZodType } from 'zod';
import {
  IntegrationError,
  checkConnection,
  type Connector,
  type ConnectorContext,
  type ConnectorModule,
  type ErasureOutcome,
  type PullPage,
  type PushResult,
  type VendorRecord,
} from '../../connector';
import { GrantRevoked, OAuthSession, type Grant } from '../../http/oauth-session';
import { VendorHttp } from '../../http/vendor-http';
import { parseConfig } from '../../marketing/shared/config';
import { decodeCursor, encodeCursor } from '../../marketing/shared/cursor';
import { START, advance, isNew, queryFrom } from '../../marketing/shared/watermark';
import { hashMembers, normalizeEmail, sha256, type HashedMember } from '../meta/audience';
import { pullInsights } from '../insights';
import { linkedinConfigSchema, type LinkedinConfig } from './config';
import { readLinkedinInsights } from './insights';
import { linkedinChallenge, verifyLinkedinWebhook } from './webhook';

export { linkedinConfigSchema, type LinkedinConfig } from './config';

const markSchema = z.object({ ts: z.number().nullable(), seen: z.array(z.string()) });
const cursorSchema = z.object({
  mark: markSchema,
  run: z.object({ mark: markSchema, end: z.number(), start: z.number() }).nullable(),
});

interface FormResponse {
  id: string;
  submittedAt: number;
  versionedLeadGenFormUrn?: string;
  formResponse?: { answers?: { questionId: number; answerDetails?: { textQuestionAnswer?: { answer?: string } } }[] };
  [key: string]: unknown;
}

/** Predefined form fields and the names the inbound mapping reads. */
const FIELDS: Record<string, string> = {
  EMAIL: 'email',
  FIRST_NAME: 'first_name',
  LAST_NAME: 'last_name',
  PHONE_NUMBER: 'phone_number',
  COMPANY_NAME: 'company_name',
};

function linkedinMessage(body: unknown): string | undefined {
  const b = body as
    | { message?: string; code?: string; serviceErrorCode?: number; error?: string; error_description?: string }
    | undefined;
  if (!b || typeof b !== 'object') return typeof body === 'string' ? body.slice(0, 300) : undefined;
  if (b.error) return [b.error, b.error_description].filter(Boolean).join(': ');
  return [b.code, b.serviceErrorCode, b.message].filter((v) => v !== undefined).join(': ') || undefined;
}

class LinkedinConnector implements Connector {
  private readonly http: VendorHttp;
  private readonly tokenHttp: VendorHttp;
  private readonly session: OAuthSession;
  private readonly forms = new Map<string, Promise<Map<number, string>>>();

  constructor(
    private readonly config: LinkedinConfig,
    private readonly context: ConnectorContext,
  ) {
    const key = createHash('sha256')
      .update(`${config.clientId}\n${config.refreshToken}\n${config.tokenUrl}`)
      .digest('hex');
    this.session = new OAuthSession({
      integration: 'linkedin',
      key: `linkedin:${key}`,
      initialRefreshToken: config.refreshToken,
      store: context.tokenStore,
      refresh: (token) => this.refresh(token),
    });
    this.tokenHttp = new VendorHttp({
      integration: 'linkedin',
      baseUrl: config.tokenUrl,
      context,
      errorMessage: linkedinMessage,
      tooManyRequestsWaitMs: () => config.throttleWaitMs,
    });
    let used: string | undefined;
    this.http = new VendorHttp({
      integration: 'linkedin',
      baseUrl: config.baseUrl,
      context,
      auth: async () => ({
        authorization: `Bearer ${(used = await this.session.accessToken())}`,
        'linkedin-version': config.version,
        'x-restli-protocol-version': '2.0.0',
      }),
      onUnauthorized: async () => {
        if (used) await this.session.rejected(used);
        return true;
      },
      errorMessage: linkedinMessage,
      tooManyRequestsWaitMs: () => config.throttleWaitMs,
    });
  }

  private async refresh(refreshToken: string): Promise<Grant> {
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: this.config.clientId,
      client_secret: this.config.clientSecret,
    });
    const response = await this.tokenHttp.request<{
      access_token?: string;
      expires_in?: number;
      refresh_token?: string;
      error?: string;
    }>({
      method: 'POST',
      path: this.config.tokenUrl,
      body: form.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      accept: [400, 401],
    });
    if (response.body?.error === 'invalid_grant' || response.body?.error === 'invalid_request')
      throw new GrantRevoked(linkedinMessage(response.body) ?? 'invalid_grant');
    if (response.status !== 200 || !response.body?.access_token)
      throw new IntegrationError(
        'linkedin',
        'auth',
        `token refresh failed (${response.status}): ${linkedinMessage(response.body) ?? 'no access token'}`,
        response.status,
      );
    return {
      accessToken: response.body.access_token,
      refreshToken: response.body.refresh_token,
      expiresInMs: (response.body.expires_in ?? 3600) * 1000,
    };
  }

  private get account(): string {
    return encodeURIComponent(`urn:li:sponsoredAccount:${this.config.sponsoredAccountId}`);
  }

  test() {
    return checkConnection(async () => {
      const account = await this.http.json<{ name?: string }>({
        path: `/rest/adAccounts/${this.config.sponsoredAccountId}`,
      });
      return `connected to ad account ${account.name ?? this.config.sponsoredAccountId}`;
    });
  }

  private requireObject(object: string, allowed: string): void {
    if (object !== allowed)
      throw new IntegrationError(
        'linkedin',
        'invalid_config',
        `unknown object "${object}": linkedin pulls leads and metrics and pushes custom_audience`,
      );
  }

  /** questionId → internal field name of a form (fetched once per connector). */
  private questions(formUrn: string | undefined): Promise<Map<number, string>> {
    const formId = /leadGenForm:(\d+)/.exec(formUrn ?? '')?.[1];
    if (!formId) return Promise.resolve(new Map());
    let cached = this.forms.get(formId);
    if (!cached) {
      cached = this.http
        .json<{ content?: { questions?: { questionId: number; predefinedField?: string }[] } }>({
          path: `/rest/leadForms/${formId}`,
        })
        .then((form) => {
          const map = new Map<number, string>();
          for (const q of form.content?.questions ?? [])
            if (q.predefinedField && FIELDS[q.predefinedField]) map.set(q.questionId, FIELDS[q.predefinedField]);
          return map;
        });
      cached.catch(() => this.forms.delete(formId));
      this.forms.set(formId, cached);
    }
    return cached;
  }

  private pullMetrics(cursor: string | null): Promise<PullPage> {
    const organizationId = this.config.organizationId;
    if (!organizationId)
      throw new IntegrationError(
        'linkedin',
        'invalid_config',
        'organizationId is not configured, so there is no Organization Page to read statistics of',
      );
    return pullInsights(
      'linkedin',
      cursor,
      this.context.now?.() ?? Date.now(),
      { lookBackDays: this.config.insightsLookBackDays, firstDays: this.config.insightsFirstDays },
      (window) => readLinkedinInsights(this.http, organizationId, window),
    );
  }

  async pull(object: string, cursor: string | null): Promise<PullPage> {
    if (object === 'metrics') return this.pullMetrics(cursor);
    this.requireObject(object, 'leads');
    const state = decodeCursor('linkedin', cursor, cursorSchema, { mark: { ...START, seen: [] }, run: null });
    const now = this.context.now?.() ?? Date.now();
    const run = state.run ?? { mark: state.mark, end: now, start: 0 };
    const from = Math.max(0, queryFrom(state.mark) ?? 0);
    // Rest.li 2.0: the structure's parentheses and colons stay literal, the URN inside is encoded.
    const path =
      `/rest/leadFormResponses?q=owner&owner=(sponsoredAccount:${this.account})&leadType=(leadType:SPONSORED)&limitedToTestLeads=false` +
      `&submittedAtTimeRange=(start:${from},end:${run.end})&start=${run.start}&count=${this.config.pageSize}`;
    const page = await this.http.json<{
      elements?: FormResponse[];
      paging?: { start?: number; count?: number; total?: number };
    }>({ path });
    const elements = page.elements ?? [];
    const fresh = elements.filter((r) => isNew(state.mark, r.id, Math.floor(r.submittedAt / 1000) * 1000));
    const records: VendorRecord[] = [];
    for (const response of fresh) {
      const names = await this.questions(response.versionedLeadGenFormUrn);
      const answers: Record<string, string> = {};
      for (const answer of response.formResponse?.answers ?? []) {
        const name = names.get(answer.questionId);
        const value = answer.answerDetails?.textQuestionAnswer?.answer;
        if (name && typeof value === 'string') answers[name] = value;
      }
      records.push({ ...response, submittedAtTime: new Date(response.submittedAt).toISOString(), answers });
    }
    const mark = advance(
      run.mark,
      fresh.map((r) => ({ id: r.id, changedMs: Math.floor(r.submittedAt / 1000) * 1000 })),
    );
    const next = run.start + elements.length;
    const done =
      elements.length < this.config.pageSize || (page.paging?.total !== undefined && next >= page.paging.total);
    return {
      records,
      deletedIds: [],
      cursor: encodeCursor(done ? { mark, run: null } : { mark: state.mark, run: { mark, end: run.end, start: next } }),
      done,
    };
  }

  async delete(object: string): Promise<void> {
    throw new IntegrationError(
      'linkedin',
      'invalid_config',
      `LinkedIn does not support deleting "${object}": lead form responses have no delete API`,
    );
  }

  private async segment(
    action: 'ADD' | 'REMOVE',
    members: readonly HashedMember[],
  ): Promise<{ failed: { key: string; reason: string }[] }> {
    if (!this.config.segmentId)
      throw new IntegrationError(
        'linkedin',
        'invalid_config',
        'segmentId is not configured, so there is no Matched Audience to push to',
      );
    const failed: { key: string; reason: string }[] = [];
    for (let start = 0; start < members.length; start += this.config.audienceBatchSize) {
      const chunk = members.slice(start, start + this.config.audienceBatchSize);
      const elements = chunk.map((m) => ({ action, userIds: [{ idType: 'SHA256_EMAIL', idValue: m.email }] }));
      const answer = await this.http.json<{ elements?: { status?: number; message?: string }[] }>({
        method: 'POST',
        path: `/rest/dmpSegments/${this.config.segmentId}/users`,
        json: { elements },
        headers: { 'x-restli-method': 'BATCH_CREATE' },
      });
      (answer.elements ?? []).forEach((result, i) => {
        if (result.status !== undefined && result.status >= 300)
          failed.push({ key: chunk[i]?.key ?? `#${start + i}`, reason: result.message ?? `status ${result.status}` });
      });
    }
    return { failed };
  }

  async push(object: string, records: readonly VendorRecord[]): Promise<PushResult> {
    this.requireObject(object, 'custom_audience');
    const { members, failed } = hashMembers(records);
    if (members.length === 0) return { upserted: 0, failed };
    const result = await this.segment('ADD', members);
    return { upserted: members.length - result.failed.length, failed: [...failed, ...result.failed] };
  }

  async erase(email: string): Promise<ErasureOutcome> {
    const normalized = normalizeEmail(email);
    if (!normalized) throw new IntegrationError('linkedin', 'invalid_config', 'erase needs an email address');
    await this.segment('REMOVE', [{ key: normalized, email: sha256(normalized) }]);
    return {
      permanent: false,
      ids: [sha256(normalized)],
      reason:
        'removed from the Matched Audience; LinkedIn has no API to delete lead form responses, which it keeps for 90 days (delete them in Campaign Manager)',
    };
  }
}

export const linkedin: ConnectorModule<LinkedinConfig> = {
  system: 'linkedin',
  family: 'social',
  configSchema: linkedinConfigSchema as unknown as ZodType<LinkedinConfig>,
  create: (config, context = {}) =>
    new LinkedinConnector(parseConfig('linkedin', linkedinConfigSchema, config), context),
  verifyWebhook: (config, request) => verifyLinkedinWebhook(config, request),
  webhookHandshake: (config, request) => linkedinChallenge(config, request),
};
