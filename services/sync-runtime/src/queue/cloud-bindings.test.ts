import * as http from 'http';
import type { AddressInfo } from 'net';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ConfigError } from '../config';
import { CLOUD_QUEUE_VARIABLES, CloudQueueKind, cloudBindingOptionsFromEnv } from './cloud-bindings';
import { openServiceBus, serviceBusCredential } from './openers/servicebus';
import { createPubsubBinding } from './pubsub-binding';
import { createSqsBinding } from './sqs-binding';
import { startFauxqs } from '@data-sync/test-services/fauxqs';

const SQS_ENV = {
  DATA_SYNC_SQS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/data-sync-jobs',
  DATA_SYNC_SQS_DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/data-sync-jobs-dlq',
  AWS_REGION: 'eu-west-1',
};
const PUBSUB_ENV = {
  GOOGLE_CLOUD_PROJECT: 'acme-data-sync',
  DATA_SYNC_PUBSUB_TOPIC: 'data-sync-jobs',
  DATA_SYNC_PUBSUB_SUBSCRIPTION: 'data-sync-jobs-worker',
  DATA_SYNC_PUBSUB_DLQ_TOPIC: 'data-sync-jobs-dead',
  DATA_SYNC_PUBSUB_DLQ_SUBSCRIPTION: 'data-sync-jobs-dead-keep',
};
/** As the Azure stack deploys it: the namespace host and the runtime's user-assigned identity. */
const SERVICEBUS_ENV = {
  DATA_SYNC_SERVICEBUS_HOST: 'acme-data-sync.servicebus.windows.net',
  AZURE_CLIENT_ID: '6f1c2b9e-0d3a-4c55-9e1f-2a7b8c9d0e1f',
  DATA_SYNC_SERVICEBUS_QUEUE: 'data-sync-jobs',
};
const SERVICEBUS_CONNECTION_STRING =
  'Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=worker;SharedAccessKey=c2VjcmV0';

const configError = (fn: () => unknown, variable: string) => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    return (error as Error).message;
  }
  throw new Error(`expected a ConfigError naming ${variable}`);
};

describe('cloud queue options from the environment', () => {
  test('each kind reads its variables', () => {
    expect(cloudBindingOptionsFromEnv('sqs', { ...SQS_ENV, DATA_SYNC_SQS_WAIT_SECONDS: '20' })).toEqual({
      queueUrl: SQS_ENV.DATA_SYNC_SQS_QUEUE_URL,
      deadLetterQueueUrl: SQS_ENV.DATA_SYNC_SQS_DLQ_URL,
      region: 'eu-west-1',
      waitTimeSeconds: 20,
    });
    expect(cloudBindingOptionsFromEnv('pubsub', PUBSUB_ENV)).toEqual({
      projectId: 'acme-data-sync',
      topic: 'data-sync-jobs',
      subscription: 'data-sync-jobs-worker',
      deadLetterTopic: 'data-sync-jobs-dead',
      deadLetterSubscription: 'data-sync-jobs-dead-keep',
    });
    expect(cloudBindingOptionsFromEnv('servicebus', SERVICEBUS_ENV)).toEqual({
      fullyQualifiedNamespace: 'acme-data-sync.servicebus.windows.net',
      managedIdentityClientId: SERVICEBUS_ENV.AZURE_CLIENT_ID,
      queue: 'data-sync-jobs',
    });
  });

  test('a Service Bus connection string, when given, is used instead of an identity', () => {
    const env = { ...SERVICEBUS_ENV, DATA_SYNC_SERVICEBUS_CONNECTION_STRING: SERVICEBUS_CONNECTION_STRING };
    expect(cloudBindingOptionsFromEnv('servicebus', env)).toEqual({
      connectionString: SERVICEBUS_CONNECTION_STRING,
      queue: 'data-sync-jobs',
    });
  });

  test.each(Object.entries(CLOUD_QUEUE_VARIABLES))('a missing required %s variable is named', (kind, variables) => {
    const full: Record<string, Record<string, string>> = {
      sqs: SQS_ENV,
      pubsub: PUBSUB_ENV,
      servicebus: SERVICEBUS_ENV,
    };
    const optional = new Set([
      'AWS_REGION',
      'DATA_SYNC_SQS_ENDPOINT',
      'DATA_SYNC_SQS_WAIT_SECONDS',
      'GOOGLE_CLOUD_PROJECT',
      'PUBSUB_EMULATOR_HOST',
      'DATA_SYNC_SERVICEBUS_CONNECTION_STRING',
      'AZURE_CLIENT_ID',
    ]);
    for (const variable of variables.filter((v) => !optional.has(v))) {
      const env = { ...full[kind], [variable]: '' };
      expect(configError(() => cloudBindingOptionsFromEnv(kind as CloudQueueKind, env), variable)).toMatch(
        new RegExp(`is required when DATA_SYNC_QUEUE is "${kind}"`),
      );
    }
  });

  test.each([
    ['sqs', 'DATA_SYNC_SQS_QUEUE_URL', { ...SQS_ENV, DATA_SYNC_SQS_QUEUE_URL: 'data-sync-jobs' }],
    ['sqs', 'DATA_SYNC_SQS_DLQ_URL', { ...SQS_ENV, DATA_SYNC_SQS_DLQ_URL: 'ftp://x/y' }],
    ['sqs', 'DATA_SYNC_SQS_WAIT_SECONDS', { ...SQS_ENV, DATA_SYNC_SQS_WAIT_SECONDS: '30' }],
    ['sqs', 'DATA_SYNC_SQS_ENDPOINT', { ...SQS_ENV, DATA_SYNC_SQS_ENDPOINT: 'localhost:4566' }],
    ['pubsub', 'DATA_SYNC_PUBSUB_TOPIC', { ...PUBSUB_ENV, DATA_SYNC_PUBSUB_TOPIC: 'goog-jobs' }],
    ['pubsub', 'DATA_SYNC_PUBSUB_SUBSCRIPTION', { ...PUBSUB_ENV, DATA_SYNC_PUBSUB_SUBSCRIPTION: 'ab' }],
    ['pubsub', 'GOOGLE_CLOUD_PROJECT', { ...PUBSUB_ENV, GOOGLE_CLOUD_PROJECT: 'Acme' }],
    [
      'servicebus',
      'DATA_SYNC_SERVICEBUS_CONNECTION_STRING',
      { ...SERVICEBUS_ENV, DATA_SYNC_SERVICEBUS_CONNECTION_STRING: 'https://acme.servicebus.windows.net' },
    ],
    [
      'servicebus',
      'DATA_SYNC_SERVICEBUS_HOST',
      { ...SERVICEBUS_ENV, DATA_SYNC_SERVICEBUS_HOST: 'https://acme-data-sync.servicebus.windows.net:443/' },
    ],
    [
      'servicebus',
      'DATA_SYNC_SERVICEBUS_HOST',
      { ...SERVICEBUS_ENV, DATA_SYNC_SERVICEBUS_HOST: 'acme-data-sync.example.com' },
    ],
    ['servicebus', 'AZURE_CLIENT_ID', { ...SERVICEBUS_ENV, AZURE_CLIENT_ID: 'runtime-identity' }],
    ['servicebus', 'DATA_SYNC_SERVICEBUS_QUEUE', { ...SERVICEBUS_ENV, DATA_SYNC_SERVICEBUS_QUEUE: 'jobs queue' }],
  ])('a malformed %s value of %s is refused naming the variable', (kind, variable, env) => {
    configError(() => cloudBindingOptionsFromEnv(kind as CloudQueueKind, env), variable);
  });

  test('an unknown kind is refused naming DATA_SYNC_QUEUE', () => {
    configError(() => cloudBindingOptionsFromEnv('kafka' as CloudQueueKind, {}), 'DATA_SYNC_QUEUE');
  });
});

describe('the cloud bindings from their environment options', () => {
  test('builds the Pub/Sub and Service Bus bindings from their options without connecting until used', async () => {
    const pubsub = createPubsubBinding({
      ...cloudBindingOptionsFromEnv('pubsub', PUBSUB_ENV),
      apiEndpoint: '127.0.0.1:9',
    });
    expect(pubsub.name).toBe('pubsub');
    await pubsub.close();
    for (const env of [
      SERVICEBUS_ENV,
      { ...SERVICEBUS_ENV, DATA_SYNC_SERVICEBUS_CONNECTION_STRING: SERVICEBUS_CONNECTION_STRING },
    ]) {
      const servicebus = openServiceBus(cloudBindingOptionsFromEnv('servicebus', env));
      expect(servicebus.name).toBe('servicebus');
      await servicebus.close();
    }
  });

  describe('Service Bus identity on Azure Container Apps', () => {
    // Container Apps hands a managed identity's tokens out at IDENTITY_ENDPOINT (App Service protocol, api-version 2019-08-01).
    let server: http.Server;
    const requests: { url: URL; header: string | undefined }[] = [];
    const saved = { endpoint: process.env.IDENTITY_ENDPOINT, header: process.env.IDENTITY_HEADER };
    beforeAll(async () => {
      server = http.createServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        requests.push({ url, header: req.headers['x-identity-header'] as string | undefined });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            access_token: 'token-for-service-bus',
            expires_on: String(Math.floor(Date.now() / 1000) + 3600),
            resource: url.searchParams.get('resource'),
            token_type: 'Bearer',
            client_id: url.searchParams.get('client_id'),
          }),
        );
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      process.env.IDENTITY_ENDPOINT = `http://127.0.0.1:${(server.address() as AddressInfo).port}/msi/token`;
      process.env.IDENTITY_HEADER = 'container-apps-secret-header';
    });
    afterAll(async () => {
      for (const [name, value] of [
        ['IDENTITY_ENDPOINT', saved.endpoint],
        ['IDENTITY_HEADER', saved.header],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await new Promise((resolve) => server.close(resolve));
    });

    test("the credential built from the stack's variables takes Service Bus tokens for the user-assigned identity", async () => {
      const options = cloudBindingOptionsFromEnv('servicebus', SERVICEBUS_ENV);
      if ('connectionString' in options) throw new Error('expected the managed identity, not a connection string');
      const credential = serviceBusCredential(options);
      if (!('getToken' in credential)) throw new Error('expected a managed-identity token credential');
      const token = await credential.getToken('https://servicebus.azure.net/.default');
      expect(token?.token).toBe('token-for-service-bus');
      expect(requests).toHaveLength(1);
      expect(requests[0].header).toBe('container-apps-secret-header');
      expect(requests[0].url.searchParams.get('resource')).toBe('https://servicebus.azure.net');
      expect(requests[0].url.searchParams.get('client_id')).toBe(SERVICEBUS_ENV.AZURE_CLIENT_ID);
    });
  });

  describe('SQS from environment variables, against fauxqs', () => {
    let fauxqs: Awaited<ReturnType<typeof startFauxqs>>;
    let endpoint: string;
    beforeAll(async () => {
      fauxqs = await startFauxqs();
      endpoint = fauxqs.endpoint;
    });
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    afterAll(() => {
      fauxqs?.stop();
      for (const [name, value] of [
        ['AWS_ACCESS_KEY_ID', saved.id],
        ['AWS_SECRET_ACCESS_KEY', saved.secret],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });

    test('enqueue, claim and ack through the binding built from the environment', async () => {
      // The binding's client takes credentials from the default chain, as it does on AWS.
      process.env.AWS_ACCESS_KEY_ID = 'test';
      process.env.AWS_SECRET_ACCESS_KEY = 'test';
      const admin = new SQSClient({ region: 'us-east-1', endpoint });
      const [main, dlq] = [
        await admin.send(new CreateQueueCommand({ QueueName: `cloud-${process.pid}` })),
        await admin.send(new CreateQueueCommand({ QueueName: `cloud-${process.pid}-dlq` })),
      ];
      admin.destroy();
      const env = {
        DATA_SYNC_SQS_QUEUE_URL: main.QueueUrl!,
        DATA_SYNC_SQS_DLQ_URL: dlq.QueueUrl!,
        AWS_REGION: 'us-east-1',
        DATA_SYNC_SQS_ENDPOINT: endpoint,
      };
      const binding = createSqsBinding(cloudBindingOptionsFromEnv('sqs', env));
      const id = await binding.enqueue({ kind: 'sync', integration: 'crm', payload: { page: 1 } });
      const [job] = await binding.claim(1, 5000);
      expect(job).toMatchObject({ id, kind: 'sync', integration: 'crm', payload: { page: 1 }, attempts: 1 });
      await binding.ack(job);
      expect(await binding.depth()).toEqual({ ready: 0, inFlight: 0, delayed: 0, dead: 0 });
      await binding.close();
    });
  });
});
