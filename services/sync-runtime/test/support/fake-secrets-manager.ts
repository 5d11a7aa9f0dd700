/**
 * A local Secrets Manager for tests, on its JSON wire protocol (awsJson1.1): GetSecretValue answers a
 * secret's SecretString, or ResourceNotFoundException for a secret without a value. Reached through
 * AWS_ENDPOINT_URL_SECRETS_MANAGER, as the SDK would reach AWS.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';

export interface FakeSecretsManager {
  readonly url: string;
  /** Secret ARNs asked for, in order. */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startFakeSecretsManager(secrets: Readonly<Record<string, string>>): Promise<FakeSecretsManager> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const answer = (status: number, payload: unknown) => {
        res.writeHead(status, {
          'content-type': 'application/x-amz-json-1.1',
          'x-amzn-requestid': `req-${requests.length}`,
        });
        res.end(JSON.stringify(payload));
      };
      if (req.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue')
        return answer(400, {
          __type: 'UnknownOperationException',
          message: `not faked: ${req.headers['x-amz-target']}`,
        });
      if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 '))
        return answer(400, { __type: 'IncompleteSignatureException', message: 'requests must be signed' });
      const { SecretId } = JSON.parse(body) as { SecretId: string };
      requests.push(SecretId);
      const value = secrets[SecretId];
      if (value === undefined)
        return answer(400, {
          __type: 'ResourceNotFoundException',
          message: "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
        });
      answer(200, {
        ARN: SecretId,
        Name: SecretId.split(':').pop(),
        SecretString: value,
        VersionId: 'v1',
        VersionStages: ['AWSCURRENT'],
        CreatedDate: 1_700_000_000,
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
