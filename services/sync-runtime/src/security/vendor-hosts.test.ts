import { INTEGRATIONS } from '@data-sync/config/integrations';
import { calledUrlsChanged, checkVendorUrls, hostMatches, usesLocalVendor, VendorUrlError } from './vendor-hosts';

const problem = (system: string, config: unknown, allowLocal = false) => {
  try {
    checkVendorUrls(system, config, allowLocal);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(VendorUrlError);
    return (error as Error).message;
  }
};

test("every catalog system lists its vendor's hosts, and the vendors' default URLs pass", () => {
  for (const entry of INTEGRATIONS) expect(entry.vendorHosts.length).toBeGreaterThan(0);
  expect(problem('hubspot', { baseUrl: 'https://api.hubapi.com' })).toBeUndefined();
  expect(
    problem('zoho', { baseUrl: 'https://www.zohoapis.eu', accountsUrl: 'https://accounts.zoho.eu' }),
  ).toBeUndefined();
  expect(
    problem('google_analytics', {
      tokenUrl: 'https://oauth2.googleapis.com/token',
      dataApiUrl: 'https://analyticsdata.googleapis.com',
      collectUrl: 'https://www.google-analytics.com',
      userDeletionUrl: 'https://www.googleapis.com',
    }),
  ).toBeUndefined();
  expect(problem('salesforce', { baseUrl: 'https://acme.my.salesforce.com' })).toBeUndefined();
});

test('the metadata endpoint, loopback, private ranges and other hosts are refused with the config path', () => {
  expect(problem('hubspot', { baseUrl: 'http://169.254.169.254/latest' })).toBe(
    'config /baseUrl may not be used: 169.254.169.254 is a link-local or reserved address',
  );
  expect(problem('hubspot', { baseUrl: 'http://169.254.169.254/latest' }, true)).toContain('link-local');
  expect(problem('hubspot', { baseUrl: 'http://[fd00:ec2::254]/' })).toContain('loopback or private');
  expect(problem('hubspot', { baseUrl: 'http://10.0.0.5:8080' })).toContain('loopback or private');
  expect(problem('hubspot', { baseUrl: 'https://evil.example.com' })).toBe(
    'config /baseUrl may not be used: evil.example.com is not a hubspot host (api.hubapi.com, *.hubapi.com, api.hubspot.com)',
  );
  // The host of one vendor is not another's: a HubSpot token sent to a Salesforce URL.
  expect(problem('hubspot', { baseUrl: 'https://login.salesforce.com' })).toContain('is not a hubspot host');
  expect(problem('zoho', { baseUrl: 'https://www.zohoapis.com', accountsUrl: 'https://evil.example' })).toContain(
    'config /accountsUrl',
  );
  expect(problem('hubspot', { baseUrl: 'http://api.hubapi.com' })).toContain('https only');
  expect(problem('hubspot', { baseUrl: 'https://api.hubapi.com.evil.example' })).toContain('not a hubspot host');
});

test('the local-vendor override admits loopback and private fakes, and only them', () => {
  expect(problem('hubspot', { baseUrl: 'http://127.0.0.1:4010' }, true)).toBeUndefined();
  expect(problem('hubspot', { baseUrl: 'http://localhost:4010' }, true)).toBeUndefined();
  expect(problem('hubspot', { baseUrl: 'https://evil.example.com' }, true)).toContain('not a hubspot host');
  expect(usesLocalVendor({ baseUrl: 'http://127.0.0.1:4010' })).toBe(true);
  expect(usesLocalVendor({ baseUrl: 'https://api.hubapi.com' })).toBe(false);
});

test("Meta's deletion status page is ours, not a vendor call, and not checked", () => {
  expect(
    problem('facebook', {
      baseUrl: 'https://graph.facebook.com',
      deletionStatusUrl: 'https://sync.acme.example/status',
    }),
  ).toBeUndefined();
});

test('wildcards match subdomains only, case and a trailing dot aside', () => {
  expect(hostMatches('EU1.api.mailchimp.com.', ['*.api.mailchimp.com'])).toBe(true);
  expect(hostMatches('api.mailchimp.com', ['*.api.mailchimp.com'])).toBe(false);
  expect(hostMatches('xapi.mailchimp.com', ['*.api.mailchimp.com'])).toBe(false);
});

test('a changed called URL is told apart from other config changes', () => {
  const before = { baseUrl: 'https://api.hubapi.com', accessToken: 'a', pageSize: 100 };
  expect(calledUrlsChanged(before, { ...before, pageSize: 50, accessToken: 'b' })).toBe(false);
  expect(calledUrlsChanged(before, { ...before, baseUrl: 'https://api-eu1.hubapi.com' })).toBe(true);
});
