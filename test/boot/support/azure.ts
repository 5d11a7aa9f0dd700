import { type RuntimeProcess, resourcesOf, runsRuntime } from './runtime-process';

interface AppContainer {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; secret_name?: string }[];
}

/** The Container Apps' runtime containers; secret variables name an app secret (a Key Vault reference). */
export function azureContainers(stack: any): RuntimeProcess[] {
  return resourcesOf(stack, 'azurerm_container_app').flatMap(([name, app]) => {
    const vault = new Map<string, string>(
      (app.secret ?? []).map((s: { name: string; key_vault_secret_id: string }) => [s.name, s.key_vault_secret_id]),
    );
    return (app.template.container as AppContainer[])
      .filter((c) => runsRuntime(c.args))
      .map((c) => ({
        name: `azurerm_container_app.${name}/${c.name}`,
        command: c.args!,
        env: Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!])),
        secrets: Object.fromEntries(
          (c.env ?? [])
            .filter((e) => e.secret_name)
            .map((e) => {
              const reference = vault.get(e.secret_name!);
              if (!reference)
                throw new Error(`${name}: ${e.name} names the app secret ${e.secret_name}, which it lacks`);
              return [e.name, reference];
            }),
        ),
        listed: (c.env ?? []).map((e) => e.name),
      }));
  });
}

/** An ISO 8601 duration of the kinds the stack writes (PT300S, PT5M, P14D) in milliseconds. */
export function durationMs(iso: string): number {
  const match = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(iso);
  if (!match || iso === 'P' || iso.endsWith('T')) throw new Error(`not an ISO 8601 duration: ${iso}`);
  const [, days, hours, minutes, seconds] = match.map((part) => Number(part ?? 0));
  return (((days * 24 + hours) * 60 + minutes) * 60 + seconds) * 1000;
}

/** A queue or subscription as the stack declares it, in the fake's terms. */
interface DeclaredEntity {
  readonly lockDurationMs?: number;
  readonly maxDeliveryCount?: number;
  readonly duplicateDetectionMs?: number;
}

/** The Service Bus entities the stack declares: its queues, and its topics with their subscriptions and rules. */
export interface DeclaredServiceBus {
  readonly queues: Record<string, DeclaredEntity>;
  readonly topics: Record<
    string,
    { duplicateDetectionMs?: number; subscriptions: Record<string, DeclaredEntity & { subjects?: string[] }> }
  >;
}

const entitySettings = (r: any): DeclaredEntity => ({
  ...(r.lock_duration ? { lockDurationMs: durationMs(r.lock_duration) } : {}),
  ...(r.max_delivery_count !== undefined ? { maxDeliveryCount: r.max_delivery_count } : {}),
  ...(r.requires_duplicate_detection
    ? { duplicateDetectionMs: durationMs(r.duplicate_detection_history_time_window ?? 'PT10M') }
    : {}),
});

/** Reads the namespace's entities off the synthesized JSON (names and ids are references there). */
export function azureServiceBus(stack: any): DeclaredServiceBus {
  const queues = Object.fromEntries(
    resourcesOf(stack, 'azurerm_servicebus_queue').map(([, q]) => [q.name as string, entitySettings(q)]),
  );
  const topicByRef = new Map(
    resourcesOf(stack, 'azurerm_servicebus_topic').map(([id, t]) => [`\${azurerm_servicebus_topic.${id}.id}`, t]),
  );
  const rules = resourcesOf(stack, 'azurerm_servicebus_subscription_rule');
  const topics: DeclaredServiceBus['topics'] = {};
  for (const topic of topicByRef.values()) topics[topic.name] = { ...entitySettings(topic), subscriptions: {} };
  for (const [id, s] of resourcesOf(stack, 'azurerm_servicebus_subscription')) {
    const topic = topicByRef.get(s.topic_id);
    if (!topic) throw new Error(`subscription ${id} names the topic ${s.topic_id}, which the stack lacks`);
    const mine = rules.filter(([, r]) => r.subscription_id === `\${azurerm_servicebus_subscription.${id}.id}`);
    for (const [rule, r] of mine)
      if (r.filter_type !== 'CorrelationFilter' || !r.correlation_filter?.label)
        throw new Error(`rule ${rule}: only correlation filters on the label are read here`);
    topics[topic.name].subscriptions[s.name] = {
      ...entitySettings(s),
      ...(mine.length ? { subjects: mine.map(([, r]) => r.correlation_filter.label as string) } : {}),
    };
  }
  return { queues, topics };
}

/**
 * The variables that name a Service Bus queue or topic by Terraform reference
 * (`${azurerm_servicebus_queue.<id>.name}`), with the name the stack gives that resource.
 */
export function serviceBusNameVariables(stack: any, env: Readonly<Record<string, string>>): Record<string, string> {
  const named: Record<string, string> = {};
  for (const [variable, value] of Object.entries(env)) {
    const reference = /^\$\{(azurerm_servicebus_(?:queue|topic))\.(\w+)\.name\}$/.exec(value);
    if (!reference) continue;
    const resource = stack.resource?.[reference[1]]?.[reference[2]];
    if (!resource) throw new Error(`${variable} names ${reference[1]}.${reference[2]}, which the stack lacks`);
    named[variable] = resource.name;
  }
  return named;
}
