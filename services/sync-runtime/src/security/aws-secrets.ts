/**
 * The Lambda worker's secrets. Lambda cannot put Secrets Manager values into the environment as ECS
 * does, so the AWS stack names them and the worker reads them once per cold start:
 * DATA_SYNC_ENCRYPTION_KEY_SECRET_ARN (the key), DATABASE_PASSWORD_SECRET_ARN (the password of the role
 * DATABASE_URL logs in as, put into that URL) and the catalog credentials that integration configs refer to:
 * DATA_SYNC_CREDENTIAL_SECRETS (`<integration>/<CREDENTIAL>,…`) under DATA_SYNC_CREDENTIAL_SECRET_PREFIX,
 * read by name: Lambda allows 4 KB of environment in all, which a map of ARNs outgrew in prod.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError } from '../config-error';

/** The variables naming secrets by ARN that withAwsSecrets reads. */
export const AWS_SECRET_VARIABLES = [
  'DATA_SYNC_ENCRYPTION_KEY_SECRET_ARN',
  'DATABASE_PASSWORD_SECRET_ARN',
  'DATA_SYNC_CREDENTIAL_SECRET_PREFIX',
  'DATA_SYNC_CREDENTIAL_SECRETS',
] as const;

/** Reads a secret's current value by ARN or name; undefined when it has none yet (created empty, filled out of band). */
export type SecretReader = (id: string) => Promise<string | undefined>;

/** A reader on Secrets Manager (region from AWS_REGION; AWS_ENDPOINT_URL_SECRETS_MANAGER for a local endpoint). */
export function secretsManagerReader(env: NodeJS.ProcessEnv): SecretReader {
  const client = new SecretsManagerClient({
    ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}),
    ...(env.AWS_ENDPOINT_URL_SECRETS_MANAGER ? { endpoint: env.AWS_ENDPOINT_URL_SECRETS_MANAGER } : {}),
  });
  return async (arn) => {
    try {
      const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: arn }));
      return SecretString;
    } catch (error) {
      if ((error as { name?: string }).name === 'ResourceNotFoundException') return undefined;
      throw error;
    }
  };
}

const errorText = (error: unknown) => `${(error as Error).name ?? 'Error'}: ${(error as Error).message}`;

async function readNamed(read: SecretReader, variable: string, arn: string): Promise<string | undefined> {
  try {
    return await read(arn);
  } catch (error) {
    throw new ConfigError(variable, `names a secret that could not be read (${errorText(error)}): ${arn}`);
  }
}

/** `env` with the secrets its ARN variables name filled in; variables already set are left as they are. */
export async function withAwsSecrets(
  env: NodeJS.ProcessEnv,
  read: SecretReader = secretsManagerReader(env),
): Promise<NodeJS.ProcessEnv> {
  const resolved = { ...env };
  const keyArn = env.DATA_SYNC_ENCRYPTION_KEY_SECRET_ARN?.trim();
  const passwordArn = env.DATABASE_PASSWORD_SECRET_ARN?.trim();
  const credentials = parseCredentialSecrets(env);

  await Promise.all([
    (async () => {
      if (!keyArn || env.DATA_SYNC_ENCRYPTION_KEY) return;
      const key = await readNamed(read, 'DATA_SYNC_ENCRYPTION_KEY_SECRET_ARN', keyArn);
      if (!key)
        throw new ConfigError(
          'DATA_SYNC_ENCRYPTION_KEY_SECRET_ARN',
          `names a secret with no value yet: aws secretsmanager put-secret-value --secret-id ${keyArn} --secret-string "$(openssl rand -base64 32)"`,
        );
      resolved.DATA_SYNC_ENCRYPTION_KEY = key;
    })(),
    (async () => {
      if (!passwordArn || !env.DATABASE_URL) return;
      const url = new URL(env.DATABASE_URL);
      // The secret holds a password only: the login is the URL's (the stack names the serving role there).
      if (!url.username)
        throw new ConfigError(
          'DATABASE_URL',
          'names no login, so the password DATABASE_PASSWORD_SECRET_ARN names has no role',
        );
      const password = await readNamed(read, 'DATABASE_PASSWORD_SECRET_ARN', passwordArn);
      if (!password)
        throw new ConfigError(
          'DATABASE_PASSWORD_SECRET_ARN',
          `names a secret with no value yet: put the password of ${decodeURIComponent(url.username)} into ${passwordArn}`,
        );
      url.password = encodeURIComponent(password);
      resolved.DATABASE_URL = url.toString();
    })(),
    ...credentials.map(async ({ name, secretId }) => {
      if (env[name]) return;
      // A credential not filled in yet stays unset: a config that refers to it says so when it is used.
      const value = await readNamed(read, 'DATA_SYNC_CREDENTIAL_SECRETS', secretId);
      if (value) resolved[name] = value;
    }),
  ]);
  return resolved;
}

const CREDENTIAL_ENTRY = /^[a-z0-9][a-z0-9_-]*\/([A-Z][A-Z0-9_]*)$/;

/** The credentials to read: each `<integration>/<CREDENTIAL>` entry is the secret named prefix + entry. */
function parseCredentialSecrets(env: NodeJS.ProcessEnv): { name: string; secretId: string }[] {
  const entries = (env.DATA_SYNC_CREDENTIAL_SECRETS ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (!entries.length) return [];
  const prefix = env.DATA_SYNC_CREDENTIAL_SECRET_PREFIX?.trim();
  if (!prefix)
    throw new ConfigError(
      'DATA_SYNC_CREDENTIAL_SECRET_PREFIX',
      'is required with DATA_SYNC_CREDENTIAL_SECRETS (the secret name prefix, e.g. data-sync-prod/integrations/)',
    );
  return entries.map((entry) => {
    const match = CREDENTIAL_ENTRY.exec(entry);
    if (!match)
      throw new ConfigError(
        'DATA_SYNC_CREDENTIAL_SECRETS',
        `must list <integration>/<CREDENTIAL> entries separated by commas; got ${JSON.stringify(entry)}`,
      );
    return { name: match[1], secretId: `${prefix}${entry}` };
  });
}
