import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EnvRefError, keepEnvRefs, resolveEnvRefs } from './env-refs';

const refusal = (fn: () => unknown): EnvRefError => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EnvRefError);
    return error as EnvRefError;
  }
  throw new Error('expected an EnvRefError');
};

test('references resolve from the environment, or from <NAME>_FILE for a mounted secret, anywhere in the config', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'env-refs-'));
  fs.writeFileSync(path.join(dir, 'ZOHO_REFRESH_TOKEN'), 'refresh-from-file\n');
  const env = { ZOHO_CLIENT_ID: 'zoho-id', ZOHO_REFRESH_TOKEN_FILE: path.join(dir, 'ZOHO_REFRESH_TOKEN') };
  const config = {
    baseUrl: 'https://www.zohoapis.com',
    auth: { clientId: { $env: 'ZOHO_CLIENT_ID' } },
    list: [{ $env: 'ZOHO_REFRESH_TOKEN' }, 'plain'],
  };
  expect(resolveEnvRefs(config, env, 'zoho')).toEqual({
    baseUrl: 'https://www.zohoapis.com',
    auth: { clientId: 'zoho-id' },
    list: ['refresh-from-file', 'plain'],
  });
  fs.rmSync(dir, { recursive: true, force: true });
});

test("only the system's own catalog credentials resolve: the database URL, the encryption key or another vendor's key never reach a connector", () => {
  for (const variable of ['DATABASE_URL', 'DATA_SYNC_ENCRYPTION_KEY', 'PATH', 'SALESFORCE_CLIENT_SECRET']) {
    const error = refusal(() => resolveEnvRefs({ apiKey: { $env: variable } }, { [variable]: 'secret' }, 'hubspot'));
    expect(error).toMatchObject({ path: '/apiKey', variable });
    expect(error.message).toContain('is not a credential of hubspot in the integration catalog (HUBSPOT_API_KEY)');
  }
  expect(resolveEnvRefs({ apiKey: { $env: 'HUBSPOT_API_KEY' } }, { HUBSPOT_API_KEY: 'hs' }, 'hubspot')).toEqual({
    apiKey: 'hs',
  });
  expect(
    refusal(() => resolveEnvRefs({ $env: 'HUBSPOT_API_KEY' }, { HUBSPOT_API_KEY: 'hs' }, 'demo')).message,
  ).toContain('is not a credential of demo in the integration catalog (it has none)');
});

test('an unset or unreadable credential is named with its config path', () => {
  expect(refusal(() => resolveEnvRefs({ a: [{ $env: 'MAILCHIMP_API_KEY' }] }, {}, 'mailchimp')).message).toBe(
    'config /a/0 references MAILCHIMP_API_KEY, which is not set in this deployment',
  );
  expect(
    refusal(() => resolveEnvRefs({ $env: 'KLAVIYO_API_KEY' }, { KLAVIYO_API_KEY_FILE: '/nonexistent/key' }, 'klaviyo'))
      .message,
  ).toMatch(
    /^config \(root\) references KLAVIYO_API_KEY, which could not be read from KLAVIYO_API_KEY_FILE \(ENOENT\)$/,
  );
});

test('an object with more than the one $env key is data, not a reference', () => {
  expect(resolveEnvRefs({ x: { $env: 'HUBSPOT_API_KEY', other: 1 } }, {}, 'hubspot')).toEqual({
    x: { $env: 'HUBSPOT_API_KEY', other: 1 },
  });
});

test('the stored config keeps the references and the defaults the schema filled in', () => {
  const raw = {
    apiKey: { $env: 'HUBSPOT_API_KEY' },
    nested: { secret: { $env: 'PIPEDRIVE_API_TOKEN' } },
    items: [{ $env: 'KLAVIYO_API_KEY' }],
  };
  const parsed = { apiKey: 'hs-key', nested: { secret: 'pd-token', pageSize: 100 }, items: ['kl-key'], region: 'eu' };
  expect(keepEnvRefs(parsed, raw)).toEqual({
    apiKey: { $env: 'HUBSPOT_API_KEY' },
    nested: { secret: { $env: 'PIPEDRIVE_API_TOKEN' }, pageSize: 100 },
    items: [{ $env: 'KLAVIYO_API_KEY' }],
    region: 'eu',
  });
});
