/**
 * The CRM and marketing fakes as bench/sync-e2e runs them: each seeded with `records` of the object it
 * pulls, held to the vendor's documented rate limit (where the fake can enforce one), and the connector
 * config that pulls it at the vendor's documented maximum page size.
 */
import type { Fake } from '@data-sync/integrations/contract/connector-contract';
import { startFakeConstantContact } from '@data-sync/vendor-fakes/constant_contact';
import { startFakeDynamics } from '@data-sync/vendor-fakes/dynamics';
import { startFakeHubSpot } from '@data-sync/vendor-fakes/hubspot';
import { startFakeKlaviyo } from '@data-sync/vendor-fakes/klaviyo';
import { startFakeMailchimp } from '@data-sync/vendor-fakes/mailchimp';
import { startFakePipedrive } from '@data-sync/vendor-fakes/pipedrive';
import { startFakeSalesforce } from '@data-sync/vendor-fakes/salesforce';
import { startFakeZoho } from '@data-sync/vendor-fakes/zoho';

/** At most `requests` per `windowMs`, as the fake enforces it. */
export interface RateLimit {
  readonly requests: number;
  readonly windowMs: number;
}

export interface VendorBench {
  /** Registry key, also the integration's name. */
  readonly system: string;
  readonly object: string;
  /** The vendor's limits the fake enforces; empty when none binds within a sync. */
  readonly limits: readonly RateLimit[];
  /** Where the limits and page sizes come from, printed with the results. */
  readonly source: string;
  /** Records per page of a full and of an incremental pull (the documented maximum). */
  readonly fullPage: number;
  readonly incrementalPage: number;
  /** Token requests a sync cannot avoid (OAuth grant), counted by the fake like any other. */
  readonly authRequests: number;
  /** Requests per sync for the vendor's deleted-records listing, where deletes are not in the change feed. */
  readonly deleteRequests: number;
  /**
   * What the incremental pull's look-back window trails: the newest change the last pull saw, or the
   * vendor's clock when it started (then the day-old seeded records are all outside the window).
   */
  readonly watermark: 'newest-change' | 'pull-start';
  /** JSON path (Postgres `#>>`) of the modification time in a pulled record, for the look-back window. */
  readonly modifiedAt: string;
  start(records: number): Promise<{ fake: Fake; config: Record<string, unknown> }>;
}

const SECRET = 'bench-webhook-secret-0123456789';

export const VENDOR_BENCHES: readonly VendorBench[] = [
  {
    system: 'salesforce',
    object: 'Contact',
    limits: [],
    source:
      'daily API allowance only (fake dailyLimit); batchSize 2000 = REST query maximum (connector schema); + token, + queryAll for deletes',
    fullPage: 2000,
    incrementalPage: 2000,
    authRequests: 1,
    deleteRequests: 1,
    watermark: 'newest-change',
    modifiedAt: '{SystemModstamp}',
    async start(records) {
      const organizationId = '00D5e000000KQ2eEAG';
      // The daily allowance is raised above the bench's needs: it never binds within one sync.
      const fake = await startFakeSalesforce({ seed: { Contact: records }, organizationId, dailyLimit: 10_000_000 });
      const config = {
        baseUrl: fake.url,
        auth: { type: 'client_credentials', clientId: 'fake-client-id', clientSecret: 'fake-client-secret' },
        organizationId,
        webhookToken: 'outbound-token-0123456789',
        batchSize: 2000,
      };
      return { fake, config };
    },
  },
  {
    system: 'hubspot',
    object: 'contacts',
    // 100 per rolling 10 s: the private-app base tier (connector comment: 100-190 by tier; the figure).
    limits: [{ requests: 100, windowMs: 10_000 }],
    source:
      '100 req / rolling 10 s (fake tenSecondLimit; private apps 100-190 by tier); list 100/page, search 200/page (connector schema); + archived list for deletes',
    fullPage: 100,
    incrementalPage: 200,
    authRequests: 0,
    deleteRequests: 1,
    watermark: 'pull-start',
    modifiedAt: '{updatedAt}',
    async start(records) {
      const fake = await startFakeHubSpot({ seed: { contacts: records }, tenSecondLimit: 100 });
      const config = { baseUrl: fake.url, accessToken: 'pat-na1-fake-token', clientSecret: 'app-secret-1' };
      return { fake, config };
    },
  },
  {
    system: 'dynamics',
    object: 'contacts',
    limits: [],
    source:
      'service protection 6000 req / 300 s (fake 429 text) is not enforced by the fake and never binds at 5000/page; odata.maxpagesize 5000 (connector schema max); + token; deletes in the delta feed',
    fullPage: 5000,
    incrementalPage: 5000,
    authRequests: 1,
    deleteRequests: 0,
    watermark: 'newest-change',
    modifiedAt: '{modifiedon}',
    async start(records) {
      const tenantId = '11111111-2222-4333-8444-555555555555';
      const fake = await startFakeDynamics({ seed: { contacts: records }, tenantId });
      const config = {
        orgUrl: fake.url,
        tenantId,
        tokenUrl: `${fake.url}/${tenantId}/oauth2/v2.0/token`,
        clientId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
        clientSecret: 'fake-entra-secret',
        pageSize: 5000,
        webhookKey: 'dataverse-webhook-key-0001',
        organizationId: '99999999-0000-4000-8000-000000000001',
      };
      return { fake, config };
    },
  },
  {
    system: 'zoho',
    object: 'Contacts',
    limits: [],
    source:
      'daily API credits only, which the fake does not model; per_page 200 (Zoho v6 maximum, connector schema); + token, + deleted list',
    fullPage: 200,
    incrementalPage: 200,
    authRequests: 1,
    deleteRequests: 1,
    watermark: 'newest-change',
    modifiedAt: '{Modified_Time}',
    async start(records) {
      const fake = await startFakeZoho({ seed: { Contacts: records } });
      const config = {
        baseUrl: fake.url,
        accountsUrl: fake.url,
        clientId: '1000.FAKECLIENT',
        clientSecret: 'fake-zoho-secret',
        refreshToken: '1000.fake-refresh-token',
        pageSize: 200,
        webhookToken: 'zoho-channel-token-123',
        channelIds: ['1000000068001'],
      };
      return { fake, config };
    },
  },
  {
    system: 'pipedrive',
    object: 'persons',
    // Pipedrive's lowest plan: 80 requests per 2 s window (fake default, connector comment).
    limits: [{ requests: 80, windowMs: 2000 }],
    source: '80 req / 2 s window (fake windowLimit default; Pipedrive lower plans); limit 500/page (API v2 maximum)',
    fullPage: 500,
    incrementalPage: 500,
    authRequests: 0,
    deleteRequests: 0,
    watermark: 'newest-change',
    modifiedAt: '{update_time}',
    async start(records) {
      const fake = await startFakePipedrive({ seed: { persons: records }, windowLimit: 80 });
      const config = {
        baseUrl: fake.url,
        apiToken: 'fake-pipedrive-token',
        pageSize: 500,
        companyId: 7001,
        webhookUser: 'sync',
        webhookPassword: 'webhook-password-1',
      };
      return { fake, config };
    },
  },
  {
    system: 'mailchimp',
    object: 'newsletter',
    limits: [],
    source:
      '10 simultaneous connections (fake maxConnections), no request rate: a sequential pull never binds; count 1000/page (API maximum); + archived members for deletes',
    fullPage: 1000,
    incrementalPage: 1000,
    authRequests: 0,
    deleteRequests: 1,
    watermark: 'newest-change',
    modifiedAt: '{last_changed}',
    async start(records) {
      const fake = await startFakeMailchimp({ seed: { newsletter: records }, maxConnections: 10 });
      const config = { apiKey: fake.apiKey, baseUrl: fake.url, webhookSecret: SECRET, pageSize: 1000 };
      return { fake, config };
    },
  },
  {
    system: 'klaviyo',
    object: 'profiles',
    // GET /api/profiles: burst 75 / 1 s, steady 750 / 1 min (the fake's operations.json, from Klaviyo's OpenAPI).
    limits: [
      { requests: 75, windowMs: 1000 },
      { requests: 750, windowMs: 60_000 },
    ],
    source:
      'GET /api/profiles 75 req / 1 s burst, 750 / 1 min steady (fake defaults from Klaviyo OpenAPI operations.json); page[size] 100 (maximum)',
    fullPage: 100,
    incrementalPage: 100,
    authRequests: 0,
    deleteRequests: 0,
    watermark: 'newest-change',
    modifiedAt: '{attributes,updated}',
    async start(records) {
      const fake = await startFakeKlaviyo({ seed: { profiles: records } });
      const config = {
        apiKey: 'pk_fake_0123456789abcdef0123456789abcdef',
        baseUrl: fake.url,
        webhookSecret: SECRET,
        pageSize: 100,
      };
      return { fake, config };
    },
  },
  {
    system: 'constant_contact',
    object: 'contacts',
    limits: [{ requests: 4, windowMs: 1000 }],
    source:
      '4 req / s and 10,000 / day (fake perSecond/perDay defaults, Constant Contact v3 docs); limit 500/page (API maximum); + token; deletes in status=all',
    fullPage: 500,
    incrementalPage: 500,
    authRequests: 1,
    deleteRequests: 0,
    watermark: 'newest-change',
    modifiedAt: '{updated_at}',
    async start(records) {
      // The fake dates seeded contacts from ten days before its clock, two every 20 s: past 86,400 of them
      // the newest would be in the future, later than any change made now, which an incremental pull then
      // cannot see. Its clock is set back by the excess while it seeds, so the newest is a minute old.
      let shiftMs = -(Math.max(0, records * 10_000 - 10 * 86_400_000) + 60_000);
      const fake = await startFakeConstantContact({
        seed: { contacts: records },
        perSecond: 4,
        perDay: 10_000,
        now: () => Date.now() + shiftMs,
      });
      shiftMs = 0;
      const config = {
        clientId: 'fake-client-id',
        clientSecret: 'fake-client-secret',
        refreshToken: 'fake-refresh-token-0',
        baseUrl: fake.url,
        tokenUrl: `${fake.url}/oauth2/default/v1/token`,
        listIds: [fake.listId('Newsletter')],
        pageSize: 500,
      };
      return { fake, config };
    },
  },
];

/**
 * The least time `requests` can take under `limits`, as the start of the last one when each is sent as
 * early as every window allows: request i waits for the one `quota` places before it to leave each window.
 * The fakes' fixed windows open at their first request, which gives such a client the same schedule.
 * 0 when nothing binds.
 */
export function rateBoundSeconds(requests: number, limits: readonly RateLimit[]): number {
  const starts: number[] = [];
  for (let i = 0; i < requests; i++)
    starts.push(
      Math.max(starts[i - 1] ?? 0, ...limits.map((l) => (i >= l.requests ? starts[i - l.requests] + l.windowMs : 0))),
    );
  return (starts[requests - 1] ?? 0) / 1000;
}
