/**
 * Which bus the runtime publishes to (DATA_SYNC_EVENTS) and its options from the environment, read once
 * at start-up by config.ts: a missing or malformed variable is a ConfigError naming it.
 */
import {
  EVENT_BUSES,
  EVENT_CONSUMER_NAMES,
  EVENT_ENV,
  type EventBusKind,
  type EventConsumer,
} from '@data-sync/config/events';
import { ConfigError } from '../config-error';
import type { EventBus } from './bus';
import type { EventBusOpeners } from './openers';
import type { WebhookTarget } from './webhook';

/** What every bus's options carry: the CloudEvents source and the publisher's lease. */
interface Common {
  readonly source: string;
  /** How long a publisher holds claimed events before another may send them (DATA_SYNC_EVENTS_LEASE_MS). */
  readonly leaseMs: number;
}

export type EventBusOptions = Common &
  (
    | { readonly kind: 'inprocess' }
    | { readonly kind: 'webhook'; readonly targets: readonly WebhookTarget[]; readonly secret: string }
    | { readonly kind: 'pubsub'; readonly topic: string; readonly projectId?: string }
    | { readonly kind: 'sns'; readonly topicArn: string; readonly region: string }
    | {
        readonly kind: 'servicebus';
        readonly topic: string;
        readonly connection:
          { readonly connectionString: string } | { readonly host: string; readonly clientId?: string };
      }
    | { readonly kind: 'oci'; readonly topicId: string; readonly endpoint: string }
    | {
        readonly kind: 'ibm';
        readonly instanceId: string;
        readonly sourceId: string;
        readonly url: string;
        readonly apiKey: string;
        readonly iamUrl?: string;
      }
  );

/** Every variable the event buses read (the README and the stacks' parity test list them). */
export const EVENT_BUS_VARIABLES: readonly string[] = [
  EVENT_ENV.bus,
  EVENT_ENV.target,
  EVENT_ENV.source,
  'DATA_SYNC_EVENTS_WEBHOOKS',
  'DATA_SYNC_EVENTS_WEBHOOK_SECRET',
  'DATA_SYNC_EVENTS_LEASE_MS',
  // OCI Notifications: the topic's API endpoint (the resource principal's variables are the platform's).
  'DATA_SYNC_OCI_NOTIFICATIONS_ENDPOINT',
  // IBM Event Notifications: the regional API, the runtime's API source, its service ID's key, and IAM.
  'DATA_SYNC_IBM_EN_URL',
  'DATA_SYNC_IBM_EN_SOURCE_ID',
  'DATA_SYNC_IBM_EN_API_KEY',
  'DATA_SYNC_IBM_IAM_URL',
];

/** Buses that exist in the contract and the stacks but whose runtime binding this build cannot offer, and why. */
const UNAVAILABLE: Partial<Record<EventBusKind, string>> = {
  eventbridge: 'needs @aws-sdk/client-eventbridge, which this build does not include',
  cloudflare: 'is published by the Worker through its queue producer bindings (EVENTS_<SERVICE>), not from Node',
};

const TOPIC = /^[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;

function target(env: NodeJS.ProcessEnv, kind: EventBusKind): string {
  const value = env[EVENT_ENV.target]?.trim();
  if (!value) throw new ConfigError(EVENT_ENV.target, `is required when ${EVENT_ENV.bus} is "${kind}" (the topic)`);
  if (!TOPIC.test(value))
    throw new ConfigError(EVENT_ENV.target, `must be a topic name or id; got ${JSON.stringify(value)}`);
  return value;
}

/** An http(s) URL variable; `purpose` says what it is in the message. */
function urlVariable(env: NodeJS.ProcessEnv, name: string, kind: EventBusKind, purpose: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(name, `is required when ${EVENT_ENV.bus} is "${kind}" (${purpose})`);
  const protocol = URL.canParse(value) ? new URL(value).protocol : null;
  if (!protocol || !['http:', 'https:'].includes(protocol))
    throw new ConfigError(name, `must be an https URL (${purpose}); got ${JSON.stringify(value)}`);
  return value;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function ibmOptions(env: NodeJS.ProcessEnv, common: Common): EventBusOptions {
  const instanceId = env[EVENT_ENV.target]?.trim() ?? '';
  if (!GUID.test(instanceId))
    throw new ConfigError(
      EVENT_ENV.target,
      `must be the Event Notifications instance GUID when ${EVENT_ENV.bus} is "ibm"; got ${JSON.stringify(instanceId)}`,
    );
  const sourceId = env.DATA_SYNC_IBM_EN_SOURCE_ID?.trim();
  if (!sourceId || !/^[\x21-\x7e]{1,255}$/.test(sourceId))
    throw new ConfigError(
      'DATA_SYNC_IBM_EN_SOURCE_ID',
      'is required when DATA_SYNC_EVENTS is "ibm" (the API source id)',
    );
  const apiKey = env.DATA_SYNC_IBM_EN_API_KEY?.trim();
  if (!apiKey)
    throw new ConfigError(
      'DATA_SYNC_IBM_EN_API_KEY',
      'is required when DATA_SYNC_EVENTS is "ibm" (the API key of the stack\'s events service ID)',
    );
  const iamUrl = env.DATA_SYNC_IBM_IAM_URL?.trim()
    ? urlVariable(env, 'DATA_SYNC_IBM_IAM_URL', 'ibm', 'IBM Cloud IAM')
    : undefined;
  return {
    kind: 'ibm',
    ...common,
    instanceId,
    sourceId,
    apiKey,
    url: urlVariable(env, 'DATA_SYNC_IBM_EN_URL', 'ibm', "the instance's regional Event Notifications API"),
    ...(iamUrl ? { iamUrl } : {}),
  };
}

/** A standard SNS topic's ARN (partition, region, account, name): the region is the one to publish in. */
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:([a-z]{2}(?:-[a-z]+)+-\d):\d{12}:[A-Za-z0-9_-]{1,256}$/;

function snsTopic(env: NodeJS.ProcessEnv): { topicArn: string; region: string } {
  const value = env[EVENT_ENV.target]?.trim();
  if (!value) throw new ConfigError(EVENT_ENV.target, `is required when ${EVENT_ENV.bus} is "sns" (the topic's ARN)`);
  const match = SNS_TOPIC_ARN.exec(value);
  if (!match)
    throw new ConfigError(
      EVENT_ENV.target,
      `must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>); got ${JSON.stringify(value)}`,
    );
  return { topicArn: value, region: match[1] };
}

function webhookTargets(env: NodeJS.ProcessEnv): WebhookTarget[] {
  const name = 'DATA_SYNC_EVENTS_WEBHOOKS';
  const raw = env[name]?.trim();
  const shape = `a JSON object of service to URL, services ${EVENT_CONSUMER_NAMES.join(', ')}: {"notifications":"https://…"}`;
  if (!raw) throw new ConfigError(name, `is required when ${EVENT_ENV.bus} is "webhook" (${shape})`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(name, `must be ${shape}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || !Object.keys(parsed).length)
    throw new ConfigError(name, `must be ${shape}`);
  return Object.entries(parsed as Record<string, unknown>).map(([consumer, url]) => {
    if (!(EVENT_CONSUMER_NAMES as string[]).includes(consumer))
      throw new ConfigError(
        name,
        `names an unknown service ${JSON.stringify(consumer)}; expected ${EVENT_CONSUMER_NAMES.join(', ')}`,
      );
    const protocol = URL.canParse(String(url)) ? new URL(String(url)).protocol : null;
    if (typeof url !== 'string' || !protocol || !['http:', 'https:'].includes(protocol))
      throw new ConfigError(name, `the URL of ${consumer} must be an http(s) URL`);
    return { consumer: consumer as EventConsumer, url };
  });
}

/** The CloudEvents source: DATA_SYNC_EVENTS_SOURCE, else /data-sync/<environment> (the Worker reads it too). */
export function eventSourceFromEnv(env: Readonly<Record<string, unknown>>, environment?: string): string {
  const given = env[EVENT_ENV.source];
  const source = (typeof given === 'string' && given.trim()) || `/data-sync/${environment ?? 'local'}`;
  if (!/^[\x21-\x7e]{1,255}$/.test(source))
    throw new ConfigError(EVENT_ENV.source, 'must be a URI reference without spaces (CloudEvents source)');
  return source;
}

/** The bus options; `environment` names the default CloudEvents source (/data-sync/<environment>). */
export function eventBusOptionsFromEnv(env: NodeJS.ProcessEnv, environment?: string): EventBusOptions {
  const raw = env[EVENT_ENV.bus]?.trim() || 'inprocess';
  if (!(EVENT_BUSES as readonly string[]).includes(raw))
    throw new ConfigError(EVENT_ENV.bus, `must be one of ${EVENT_BUSES.join(', ')}; got ${JSON.stringify(raw)}`);
  const kind = raw as EventBusKind;
  const source = eventSourceFromEnv(env, environment);
  const lease = env.DATA_SYNC_EVENTS_LEASE_MS?.trim() || '30000';
  if (!/^[1-9][0-9]{2,6}$/.test(lease))
    throw new ConfigError('DATA_SYNC_EVENTS_LEASE_MS', 'must be milliseconds between 100 and 9999999');
  const common = { source, leaseMs: Number(lease) };
  const unavailable = UNAVAILABLE[kind];
  if (unavailable) throw new ConfigError(EVENT_ENV.bus, `"${kind}" ${unavailable}`);
  switch (kind) {
    case 'webhook': {
      const secret = env.DATA_SYNC_EVENTS_WEBHOOK_SECRET ?? '';
      if (secret.length < 16)
        throw new ConfigError(
          'DATA_SYNC_EVENTS_WEBHOOK_SECRET',
          'must be at least 16 characters when DATA_SYNC_EVENTS is "webhook" (`openssl rand -hex 32`)',
        );
      return { kind, ...common, targets: webhookTargets(env), secret };
    }
    case 'pubsub': {
      const projectId = env.GOOGLE_CLOUD_PROJECT?.trim();
      return { kind, ...common, topic: target(env, kind), ...(projectId ? { projectId } : {}) };
    }
    case 'sns':
      return { kind, ...common, ...snsTopic(env) };
    case 'servicebus': {
      const connectionString = env.DATA_SYNC_SERVICEBUS_CONNECTION_STRING?.trim();
      const host = env.DATA_SYNC_SERVICEBUS_HOST?.trim();
      if (!connectionString && !host)
        throw new ConfigError(
          'DATA_SYNC_SERVICEBUS_HOST',
          `is required when ${EVENT_ENV.bus} is "servicebus" (or DATA_SYNC_SERVICEBUS_CONNECTION_STRING)`,
        );
      const clientId = env.AZURE_CLIENT_ID?.trim();
      return {
        kind,
        ...common,
        topic: target(env, kind),
        connection: connectionString ? { connectionString } : { host: host!, ...(clientId ? { clientId } : {}) },
      };
    }
    case 'oci':
      return {
        kind,
        ...common,
        topicId: target(env, kind),
        endpoint: urlVariable(env, 'DATA_SYNC_OCI_NOTIFICATIONS_ENDPOINT', kind, "the topic's API endpoint"),
      };
    case 'ibm':
      return ibmOptions(env, common);
    default:
      return { kind: 'inprocess', ...common };
  }
}

/** Opens the bus `options` describe, if this entry point carries it. */
export function openEventBus(options: EventBusOptions, openers: EventBusOpeners): EventBus {
  const open = openers[options.kind];
  if (!open)
    throw new ConfigError(
      EVENT_ENV.bus,
      `is "${options.kind}", which this bundle cannot publish to (it has ${Object.keys(openers).join(', ')}); run the bundle of the cloud that provides it (dist/runtime/<cloud>.js)`,
    );
  return open(options);
}
