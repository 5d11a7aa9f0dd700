/**
 * The options a deployment gives the cloud queue bindings through the environment
 * (DATA_SYNC_QUEUE = sqs | pubsub | servicebus). Free of the cloud SDKs: each bundle carries only the
 * SDKs of the bindings it can open (queue/openers).
 */
import type { ServiceBusAdministrationClient } from '@azure/service-bus';
import { ConfigError } from '../config-error';
import type { RetryPolicy } from './binding';
import type { DedupeRegistry } from './core/dedupe';

export const CLOUD_QUEUE_KINDS = ['sqs', 'pubsub', 'servicebus'] as const;
export type CloudQueueKind = (typeof CLOUD_QUEUE_KINDS)[number];

/** A Microsoft Entra credential (a TokenCredential from @azure/identity, or a named key). */
export type AzureCredential = ConstructorParameters<typeof ServiceBusAdministrationClient>[1];

interface Common {
  readonly retry?: RetryPolicy;
  readonly random?: () => number;
  readonly dedupe?: DedupeRegistry;
}

export interface SqsOptions extends Common {
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  /** Otherwise AWS_REGION, as the SDK reads it. */
  readonly region?: string;
  /** A local endpoint (fauxqs, LocalStack); otherwise AWS's. */
  readonly endpoint?: string;
  readonly waitTimeSeconds?: number;
}

export interface PubsubOptions extends Common {
  /** Otherwise GOOGLE_CLOUD_PROJECT / the credentials' project, as the SDK finds it. */
  readonly projectId?: string;
  readonly topic: string;
  readonly subscription: string;
  readonly deadLetterTopic: string;
  readonly deadLetterSubscription: string;
  /** Otherwise PUBSUB_EMULATOR_HOST or Google's endpoint. */
  readonly apiEndpoint?: string;
}

export type ServiceBusOptions = Common & { readonly queue: string } & (
    | { readonly connectionString: string }
    | {
        readonly fullyQualifiedNamespace: string;
        /** The client id of the user-assigned managed identity; @default the default credential chain */
        readonly managedIdentityClientId?: string;
        /** A credential to use instead of a managed identity. @default from managedIdentityClientId */
        readonly credential?: AzureCredential;
      }
  );

export interface CloudBindingOptions {
  sqs: SqsOptions;
  pubsub: PubsubOptions;
  servicebus: ServiceBusOptions;
}

/** The environment variables each cloud binding reads (for the README and start-up errors). */
export const CLOUD_QUEUE_VARIABLES: Record<CloudQueueKind, readonly string[]> = {
  sqs: [
    'DATA_SYNC_SQS_QUEUE_URL',
    'DATA_SYNC_SQS_DLQ_URL',
    'AWS_REGION',
    'DATA_SYNC_SQS_ENDPOINT',
    'DATA_SYNC_SQS_WAIT_SECONDS',
  ],
  pubsub: [
    'GOOGLE_CLOUD_PROJECT',
    'DATA_SYNC_PUBSUB_TOPIC',
    'DATA_SYNC_PUBSUB_SUBSCRIPTION',
    'DATA_SYNC_PUBSUB_DLQ_TOPIC',
    'DATA_SYNC_PUBSUB_DLQ_SUBSCRIPTION',
    'PUBSUB_EMULATOR_HOST',
  ],
  servicebus: [
    'DATA_SYNC_SERVICEBUS_HOST',
    'DATA_SYNC_SERVICEBUS_CONNECTION_STRING',
    'AZURE_CLIENT_ID',
    'DATA_SYNC_SERVICEBUS_QUEUE',
  ],
};

const required = (env: NodeJS.ProcessEnv, name: string, kind: CloudQueueKind) => {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(name, `is required when DATA_SYNC_QUEUE is "${kind}"`);
  return value;
};
const httpUrl = (env: NodeJS.ProcessEnv, name: string, value: string) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(name, `must be a URL; got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ConfigError(name, `must be an http(s) URL; got ${JSON.stringify(value)}`);
  return value;
};
/** Pub/Sub's rule for topic and subscription ids. */
const PUBSUB_NAME = /^(?!goog)[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;
const pubsubName = (env: NodeJS.ProcessEnv, name: string) => {
  const value = required(env, name, 'pubsub');
  if (!PUBSUB_NAME.test(value))
    throw new ConfigError(
      name,
      `must be a Pub/Sub id (3-255 of letters, digits, - _ . ~ + %, starting with a letter, not "goog"); got ${JSON.stringify(value)}`,
    );
  return value;
};

/** A Service Bus namespace host: `<namespace>.servicebus.windows.net` (or a sovereign cloud's suffix). */
const SERVICEBUS_HOST = /^[a-z][a-z0-9-]{4,48}[a-z0-9]\.servicebus\.(?:[a-z0-9-]+\.)*[a-z]{2,}$/i;

/**
 * The user-assigned managed identity AZURE_CLIENT_ID names (as the stacks deploy it), else undefined:
 * the Service Bus opener then uses the default chain (az login, workload identity, a system identity).
 */
function managedIdentityClientId(env: NodeJS.ProcessEnv): string | undefined {
  const clientId = env.AZURE_CLIENT_ID?.trim();
  if (!clientId) return undefined;
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(clientId))
    throw new ConfigError(
      'AZURE_CLIENT_ID',
      `must be the client id (a GUID) of the managed identity; got ${JSON.stringify(clientId)}`,
    );
  return clientId;
}

/**
 * Reads the options of `kind` from the environment; throws ConfigError naming the variable when one
 * is missing or malformed. Service Bus takes a connection string (shared key) when one is given,
 * otherwise the namespace host and the managed identity's client id (see managedIdentityClientId).
 */
export function cloudBindingOptionsFromEnv<K extends CloudQueueKind>(
  kind: K,
  env: NodeJS.ProcessEnv,
): CloudBindingOptions[K] {
  switch (kind) {
    case 'sqs': {
      const wait = env.DATA_SYNC_SQS_WAIT_SECONDS?.trim();
      if (wait !== undefined && wait !== '' && !/^(?:[0-9]|1[0-9]|20)$/.test(wait))
        throw new ConfigError(
          'DATA_SYNC_SQS_WAIT_SECONDS',
          `must be a whole number of seconds 0..20; got ${JSON.stringify(wait)}`,
        );
      const endpoint = env.DATA_SYNC_SQS_ENDPOINT?.trim();
      const options: SqsOptions = {
        queueUrl: httpUrl(env, 'DATA_SYNC_SQS_QUEUE_URL', required(env, 'DATA_SYNC_SQS_QUEUE_URL', 'sqs')),
        deadLetterQueueUrl: httpUrl(env, 'DATA_SYNC_SQS_DLQ_URL', required(env, 'DATA_SYNC_SQS_DLQ_URL', 'sqs')),
        ...(env.AWS_REGION?.trim() ? { region: env.AWS_REGION.trim() } : {}),
        ...(endpoint ? { endpoint: httpUrl(env, 'DATA_SYNC_SQS_ENDPOINT', endpoint) } : {}),
        ...(wait ? { waitTimeSeconds: Number(wait) } : {}),
      };
      return options as CloudBindingOptions[K];
    }
    case 'pubsub': {
      const project = env.GOOGLE_CLOUD_PROJECT?.trim();
      if (project !== undefined && project !== '' && !/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(project))
        throw new ConfigError(
          'GOOGLE_CLOUD_PROJECT',
          `must be a Google Cloud project id; got ${JSON.stringify(project)}`,
        );
      const options: PubsubOptions = {
        ...(project ? { projectId: project } : {}),
        topic: pubsubName(env, 'DATA_SYNC_PUBSUB_TOPIC'),
        subscription: pubsubName(env, 'DATA_SYNC_PUBSUB_SUBSCRIPTION'),
        deadLetterTopic: pubsubName(env, 'DATA_SYNC_PUBSUB_DLQ_TOPIC'),
        deadLetterSubscription: pubsubName(env, 'DATA_SYNC_PUBSUB_DLQ_SUBSCRIPTION'),
      };
      return options as CloudBindingOptions[K];
    }
    case 'servicebus': {
      const queue = required(env, 'DATA_SYNC_SERVICEBUS_QUEUE', 'servicebus');
      if (!/^[A-Za-z0-9][A-Za-z0-9\-._/]{0,259}$/.test(queue))
        throw new ConfigError(
          'DATA_SYNC_SERVICEBUS_QUEUE',
          `must be a Service Bus queue name; got ${JSON.stringify(queue)}`,
        );
      const connectionString = env.DATA_SYNC_SERVICEBUS_CONNECTION_STRING?.trim();
      if (connectionString) {
        if (!/(^|;)Endpoint=sb:\/\/[^;]+/i.test(connectionString))
          throw new ConfigError(
            'DATA_SYNC_SERVICEBUS_CONNECTION_STRING',
            'must be a Service Bus connection string ("Endpoint=sb://<namespace>.servicebus.windows.net/;SharedAccessKeyName=…;SharedAccessKey=…")',
          );
        return { connectionString, queue } as CloudBindingOptions[K];
      }
      const host = env.DATA_SYNC_SERVICEBUS_HOST?.trim();
      if (!host)
        throw new ConfigError(
          'DATA_SYNC_SERVICEBUS_HOST',
          'is required when DATA_SYNC_QUEUE is "servicebus" (or DATA_SYNC_SERVICEBUS_CONNECTION_STRING)',
        );
      if (!SERVICEBUS_HOST.test(host))
        throw new ConfigError(
          'DATA_SYNC_SERVICEBUS_HOST',
          `must be a namespace host such as "acme.servicebus.windows.net" (no scheme, port or path); got ${JSON.stringify(host)}`,
        );
      const clientId = managedIdentityClientId(env);
      return {
        fullyQualifiedNamespace: host,
        ...(clientId ? { managedIdentityClientId: clientId } : {}),
        queue,
      } as CloudBindingOptions[K];
    }
    default:
      throw new ConfigError(
        'DATA_SYNC_QUEUE',
        `must be one of ${CLOUD_QUEUE_KINDS.join(', ')}; got ${JSON.stringify(kind)}`,
      );
  }
}
