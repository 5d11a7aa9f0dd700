/**
 * Mailchimp Marketing API v3 over the shared VendorHttp: HTTP Basic auth with the API key, at most
 * `maxConnections` calls in flight per key (shared by every connector instance in the process), and
 * list ids resolved from the names used as sync objects.
 */
import { createHash } from 'crypto';
import { IntegrationError, type ConnectorContext } from '../../connector';
import { VendorHttp, type VendorRequest, type VendorResponse } from '../../http/vendor-http';
import { Semaphore } from '../shared/pool';
import { apiRoot, type MailchimpConfig } from './config';

const semaphores = new Map<string, Semaphore>();

function semaphoreFor(apiKey: string, limit: number): Semaphore {
  const key = createHash('sha256').update(apiKey).digest('hex');
  let semaphore = semaphores.get(key);
  if (!semaphore) {
    semaphore = new Semaphore(limit);
    semaphores.set(key, semaphore);
  }
  return semaphore;
}

export function subscriberHash(email: string): string {
  return createHash('md5').update(email.trim().toLowerCase()).digest('hex');
}

/** Mailchimp's problem-details error body: `detail` says what, `errors[]` which field. */
export function mailchimpErrorMessage(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return typeof body === 'string' ? body.slice(0, 300) : undefined;
  const b = body as { title?: string; detail?: string; errors?: { field?: string; message?: string }[] };
  const fields = (b.errors ?? []).map((e) => `${e.field}: ${e.message}`).join('; ');
  const text = [b.title, b.detail, fields].filter(Boolean).join(' - ');
  return text || undefined;
}

export class MailchimpClient {
  readonly http: VendorHttp;
  private readonly semaphore: Semaphore;
  private listIds: Promise<Map<string, string>> | undefined;

  constructor(
    readonly config: MailchimpConfig,
    readonly context: ConnectorContext = {},
  ) {
    const authorization = `Basic ${Buffer.from(`anystring:${config.apiKey}`).toString('base64')}`;
    this.http = new VendorHttp({
      integration: 'mailchimp',
      baseUrl: apiRoot(config),
      context,
      auth: () => ({ authorization }),
      errorMessage: mailchimpErrorMessage,
    });
    this.semaphore = semaphoreFor(config.apiKey, config.maxConnections);
  }

  request<T>(request: VendorRequest): Promise<VendorResponse<T>> {
    return this.semaphore.run(() => this.http.request<T>(request));
  }

  async json<T>(request: VendorRequest): Promise<T> {
    return (await this.request<T>(request)).body;
  }

  /** Every audience id and name in the account. */
  async allLists(): Promise<{ id: string; name: string }[]> {
    const lists: { id: string; name: string }[] = [];
    for (let offset = 0; ; offset += 1000) {
      const page = await this.json<{ lists: { id: string; name: string }[]; total_items: number }>({
        path: '/lists',
        query: { count: 1000, offset, fields: 'lists.id,lists.name,total_items' },
      });
      lists.push(...page.lists.map((l) => ({ id: l.id, name: l.name })));
      if (page.lists.length < 1000 || lists.length >= page.total_items) return lists;
    }
  }

  /** The list id of a sync object: from config.lists, else the audience with that name. */
  async listId(object: string): Promise<string> {
    const configured = this.config.lists[object];
    if (configured) return configured;
    this.listIds ??= this.allLists().then((lists) => new Map(lists.map((l) => [l.name, l.id])));
    let id: string | undefined;
    try {
      id = (await this.listIds).get(object);
    } catch (error) {
      this.listIds = undefined;
      throw error;
    }
    if (!id)
      throw new IntegrationError(
        'mailchimp',
        'invalid_config',
        `no audience named "${object}": set lists.${object} to its list id`,
      );
    return id;
  }
}
