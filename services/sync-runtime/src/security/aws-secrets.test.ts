import { FakeSecretsManager, startFakeSecretsManager } from '../../test/support/fake-secrets-manager';
import { ConfigError } from '../config-error';
import { withAwsSecrets } from './aws-secrets';

const arn = (name: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}`;
const KEY = Buffer.alloc(32, 3).toString('base64');
let sm: FakeSecretsManager;
const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
beforeAll(async () => {
  // The SDK signs with the default credential chain, as it does on Lambda.
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  sm = await startFakeSecretsManager({
    [arn('runtime/DATA_SYNC_ENCRYPTION_KEY')]: KEY,
    [arn('runtime/DATABASE_PASSWORD')]: 'p@ss/w:rd',
    [arn('runtime/empty-password')]: '',
    // Credentials are read by name (the stack lists names, not ARNs: Lambda's environment is 4 KB).
    ['data-sync-prod/integrations/hubspot/HUBSPOT_API_KEY']: 'hs-live-key',
  });
});
afterAll(async () => {
  await sm.close();
  for (const [name, value] of [
    ['AWS_ACCESS_KEY_ID', saved.id],
    ['AWS_SECRET_ACCESS_KEY', saved.secret],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});
const lambdaEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  AWS_REGION: 'eu-west-1',
  AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url,
  DATABASE_URL: 'postgres://data_sync_app@db.internal:5432/datasync',
  DATABASE_PASSWORD_SECRET_ARN: arn('runtime/DATABASE_PASSWORD'),
  DATA_SYNC_ENCRYPTION_KEY_SECRET_ARN: arn('runtime/DATA_SYNC_ENCRYPTION_KEY'),
  DATA_SYNC_CREDENTIAL_SECRET_PREFIX: 'data-sync-prod/integrations/',
  DATA_SYNC_CREDENTIAL_SECRETS: 'hubspot/HUBSPOT_API_KEY,mailchimp/MAILCHIMP_API_KEY',
  ...extra,
});

test("the worker's environment as the AWS stack sets it becomes the key, the serving role's URL with its password, and the filled credentials", async () => {
  const env = await withAwsSecrets(lambdaEnv());
  expect(env.DATA_SYNC_ENCRYPTION_KEY).toBe(KEY);
  expect(env.DATABASE_URL).toBe('postgres://data_sync_app:p%40ss%2Fw%3Ard@db.internal:5432/datasync');
  expect(env.HUBSPOT_API_KEY).toBe('hs-live-key');
  // Not filled in yet: left unset, for a config that refers to it to report.
  expect(env.MAILCHIMP_API_KEY).toBeUndefined();
});

test('without ARNs nothing is read; values already in the environment win', async () => {
  const before = sm.requests.length;
  expect(await withAwsSecrets({ DATABASE_URL: 'postgres://x@h/db' })).toEqual({ DATABASE_URL: 'postgres://x@h/db' });
  const env = await withAwsSecrets(
    lambdaEnv({
      DATA_SYNC_ENCRYPTION_KEY: 'given',
      HUBSPOT_API_KEY: 'given',
      DATA_SYNC_CREDENTIAL_SECRETS: 'hubspot/HUBSPOT_API_KEY',
    }),
  );
  expect([env.DATA_SYNC_ENCRYPTION_KEY, env.HUBSPOT_API_KEY]).toEqual(['given', 'given']);
  expect(sm.requests.slice(before)).toEqual([arn('runtime/DATABASE_PASSWORD')]);
});

test.each([
  [
    { DATA_SYNC_ENCRYPTION_KEY_SECRET_ARN: arn('runtime/empty') },
    'DATA_SYNC_ENCRYPTION_KEY_SECRET_ARN',
    /names a secret with no value yet: aws secretsmanager put-secret-value/,
  ],
  [
    { DATABASE_PASSWORD_SECRET_ARN: arn('runtime/empty-password') },
    'DATABASE_PASSWORD_SECRET_ARN',
    /names a secret with no value yet: put the password of data_sync_app into arn:aws/,
  ],
  [{ DATABASE_URL: 'postgres://db.internal:5432/datasync' }, 'DATABASE_URL', /names no login/],
  [
    { DATA_SYNC_CREDENTIAL_SECRETS: 'HUBSPOT_API_KEY' },
    'DATA_SYNC_CREDENTIAL_SECRETS',
    /must list <integration>\/<CREDENTIAL> entries separated by commas; got "HUBSPOT_API_KEY"/,
  ],
  [{ DATA_SYNC_CREDENTIAL_SECRET_PREFIX: '' }, 'DATA_SYNC_CREDENTIAL_SECRET_PREFIX', /is required with/],
  [
    {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://127.0.0.1:1',
      DATA_SYNC_ENCRYPTION_KEY_SECRET_ARN: '',
      DATA_SYNC_CREDENTIAL_SECRETS: '',
    },
    'DATABASE_PASSWORD_SECRET_ARN',
    /names a secret that could not be read \(.+\): arn:aws/,
  ],
])('%j stops the boot naming %s', async (extra, variable, message) => {
  const error = await withAwsSecrets(lambdaEnv(extra as NodeJS.ProcessEnv)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).variable).toBe(variable);
  expect((error as Error).message).toMatch(message);
});
