import { INTEGRATIONS, findIntegration, intervalMinutes } from './integrations';

test("the design document's integration settings", () => {
  expect(findIntegration('salesforce')).toMatchObject({
    syncInterval: '1h',
    objects: ['Contact', 'Lead', 'Opportunity', 'Account'],
    enabled: true,
  });
  expect(findIntegration('hubspot')).toMatchObject({
    syncInterval: '30m',
    objects: ['contacts', 'companies', 'deals', 'tickets'],
    enabled: true,
  });
  expect(findIntegration('mailchimp')).toMatchObject({
    syncInterval: '15m',
    objects: ['newsletter', 'product_updates'],
    enabled: true,
  });
  expect(findIntegration('klaviyo')).toMatchObject({
    syncInterval: '1h',
    objects: ['profiles', 'email_open', 'email_click', 'purchase'],
    enabled: false,
  });
});

test('every sync interval parses and names are unique', () => {
  for (const i of INTEGRATIONS) expect(intervalMinutes(i.syncInterval)).toBeGreaterThan(0);
  expect(new Set(INTEGRATIONS.map((i) => i.name)).size).toBe(INTEGRATIONS.length);
  expect([intervalMinutes('15m'), intervalMinutes('1h'), intervalMinutes('2d')]).toEqual([15, 60, 2880]);
});

test('a malformed interval names the value', () => {
  expect(() => intervalMinutes('1 hour')).toThrow('Invalid sync_interval "1 hour"');
  expect(() => intervalMinutes('0m')).toThrow('Invalid sync_interval "0m"');
});
