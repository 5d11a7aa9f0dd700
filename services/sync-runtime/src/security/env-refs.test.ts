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
  const env = { HUBSPOT_API_KEY: 'hs-key', ZOHO_REFRESH_TOKEN_FILE: path.join(dir, 'ZOHO_REFRESH_TOKEN') };
  const config = {
    baseUrl: 'https://api.example.com',
    auth: { token: { $env: 'HUBSPOT_API_KEY' } },
    list: [{ $env: 'ZOHO_REFRESH_TOKEN' }, 'plain'],
  };
  expect(resolveEnvRefs(config, env)).toEqual({
    baseUrl: 'https://api.example.com',
    auth: { token: 'hs-key' },
    list: ['refresh-from-file', 'plain'],
  });
  fs.rmSync(dir, { recursive: true, force: true });
});

test('only catalog credentials resolve: the database URL or the encryption key never reach a connector', () => {
  for (const variable of ['DATABASE_URL', 'DATA_SYNC_ENCRYPTION_KEY', 'PATH']) {
    const error = refusal(() => resolveEnvRefs({ apiKey: { $env: variable } }, { [variable]: 'secret' }));
    expect(error).toMatchObject({ path: '/apiKey', variable });
    expect(error.message).toContain('is not a credential of the integration catalog');
  }
});

test('an unset or unreadable credential is named with its config path', () => {
  expect(refusal(() => resolveEnvRefs({ a: [{ $env: 'MAILCHIMP_API_KEY' }] }, {})).message).toBe(
    'config /a/0 references MAILCHIMP_API_KEY, which is not set in this deployment',
  );
  expect(
    refusal(() => resolveEnvRefs({ $env: 'KLAVIYO_API_KEY' }, { KLAVIYO_API_KEY_FILE: '/nonexistent/key' })).message,
  ).toMatch(
    /^config \(root\) references KLAVIYO_API_KEY, which could not be read from KLAVIYO_API_KEY_FILE \(ENOENT\)$/,
  );
});

test('an object with more than the one $env key is data, not a reference', () => {
  expect(resolveEnvRefs({ x: { $env: 'HUBSPOT_API_KEY', other: 1 } }, {})).toEqual({
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
