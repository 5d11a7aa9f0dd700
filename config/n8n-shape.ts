/**
 * How n8n runs in each environment, as one table: regular mode (one process) or the queue mode n8n
 * recommends for production (main for the editor and API, `n8n worker` processes running executions
 * from Redis, `n8n webhook` processes serving /webhook/* behind the load balancer), and who may open
 * the editor. The editor allowlist (`n8nEditorAllowlist`) and the editor's members on clouds that grant
 * access by identity (`n8nEditorMembers`) come from context, validated here.
 */
import type { EnvironmentName } from './environments';
import { contextItems } from './context-items';

/** One process, or queue mode with its worker and webhook processes. */
export type N8nProcesses =
  | { readonly mode: 'regular' }
  | {
      readonly mode: 'queue';
      /** `n8n worker` instances. */
      readonly workers: number;
      /** Executions each worker runs at once (`n8n worker --concurrency`). */
      readonly workerConcurrency: number;
      /** `n8n webhook` instances behind the load balancer's webhook route. */
      readonly webhookProcessors: number;
    };

export interface N8nShape {
  readonly processes: N8nProcesses;
  /**
   * Who reaches the editor and API: `public` (dev), or only the CIDRs of the allowlist (none: nobody from
   * outside the network) and, where a cloud admits by identity instead (GCP's IAM), only `members`.
   * Webhook paths stay public either way.
   */
  readonly editor:
    | { readonly access: 'public' }
    | { readonly access: 'allowlist'; readonly cidrs: readonly string[]; readonly members: readonly string[] };
}

/**
 * Queue mode in staging too: it is what separates the webhook processes from the editor, so clouds that
 * can only restrict a whole service (Cloud Run, Container Apps) keep webhooks public and the editor closed.
 */
export const N8N_PROCESSES: Readonly<Record<EnvironmentName, N8nProcesses>> = {
  dev: { mode: 'regular' },
  staging: { mode: 'queue', workers: 1, workerConcurrency: 5, webhookProcessors: 1 },
  prod: { mode: 'queue', workers: 2, workerConcurrency: 10, webhookProcessors: 2 },
};

/** Environments whose editor is never public. */
const RESTRICTED_EDITOR: ReadonlySet<EnvironmentName> = new Set(['staging', 'prod']);

/** Context key -> what it accepts (merged into CONTEXT_KEYS, shown in error messages). */
export const N8N_CONTEXT_KEYS = {
  n8nEditorAllowlist:
    'comma-separated IPv4 CIDRs that may open the n8n editor in staging and prod, e.g. 203.0.113.0/24 (default: none, the editor is closed from outside; webhooks stay public)',
  n8nEditorMembers:
    'comma-separated IAM members that may open the n8n editor on GCP in staging and prod, e.g. group:ops@example.com (default: none)',
} as const;

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

type Fail = (key: string, value: unknown, expected: string) => never;

/** Parses `n8nEditorAllowlist` (a list or comma-separated string of IPv4 CIDRs; none when absent). */
export function parseEditorAllowlist(raw: Record<string, unknown>, fail: Fail): readonly string[] {
  const value = raw.n8nEditorAllowlist;
  if (value === undefined) return [];
  const items = contextItems(value);
  const cidrs: string[] = [];
  for (const item of items) {
    const match = typeof item === 'string' ? CIDR.exec(item) : null;
    const octets = match ? match.slice(1, 5).map(Number) : [];
    const bits = match ? Number(match[5]) : -1;
    if (!match || octets.some((o) => o > 255) || bits > 32)
      return fail('n8nEditorAllowlist', value, `expected IPv4 CIDRs such as 203.0.113.0/24, got "${String(item)}"`);
    // A network address with host bits set is a typo for another network; cloud APIs reject it or widen it.
    const address = octets.reduce((a, o) => a * 256 + o, 0);
    if (bits < 32 && address % 2 ** (32 - bits) !== 0)
      return fail('n8nEditorAllowlist', value, `"${item}" has host bits set: write its network address`);
    if (bits < 8) return fail('n8nEditorAllowlist', value, `"${item}" is wider than /8: the editor would be public`);
    cidrs.push(item as string);
  }
  return [...new Set(cidrs)];
}

const EMAIL = /^[^\s@:,]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;
const DOMAIN = /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;
/** IAM member kinds that name people or workloads; `allUsers`/`allAuthenticatedUsers` would make the editor public. */
const MEMBER_KINDS: ReadonlyMap<string, RegExp> = new Map([
  ['user', EMAIL],
  ['group', EMAIL],
  ['serviceAccount', EMAIL],
  ['domain', DOMAIN],
]);

/** Parses `n8nEditorMembers` (a list or comma-separated string of IAM members such as `group:ops@example.com`; none when absent). */
export function parseEditorMembers(raw: Record<string, unknown>, fail: Fail): readonly string[] {
  const value = raw.n8nEditorMembers;
  if (value === undefined) return [];
  const items = contextItems(value);
  const members: string[] = [];
  for (const item of items) {
    const text = String(item);
    if (text === 'allUsers' || text === 'allAuthenticatedUsers')
      return fail('n8nEditorMembers', value, `"${text}" would make the editor public: name users, groups or a domain`);
    const colon = text.indexOf(':');
    const pattern = MEMBER_KINDS.get(text.slice(0, colon));
    if (typeof item !== 'string' || colon < 0 || !pattern?.test(text.slice(colon + 1)))
      return fail(
        'n8nEditorMembers',
        value,
        `expected IAM members such as group:ops@example.com (${[...MEMBER_KINDS.keys()].join(', ')}), got "${text}"`,
      );
    members.push(item);
  }
  return [...new Set(members)];
}

/** The context's editor access where the editor is restricted (config/context.ts parses both lists). */
export interface EditorAccessContext {
  readonly cidrs: readonly string[];
  readonly members: readonly string[];
}

/** The environment's n8n shape, with the context's editor allowlist and members. */
export function n8nShape(environment: EnvironmentName, access: EditorAccessContext): N8nShape {
  return {
    processes: N8N_PROCESSES[environment],
    editor: RESTRICTED_EDITOR.has(environment)
      ? { access: 'allowlist', cidrs: access.cidrs, members: access.members }
      : { access: 'public' },
  };
}
