/**
 * The shape of an n8n workflow as n8n's `import:workflow` reads it (nodes, connections, settings),
 * and small helpers that build it from typed pieces: nodes in the order they run, wired main output
 * to main input, so a builder only says which node follows which.
 */

/** One node of a workflow: its type (`n8n-nodes-base.<name>`) at a fixed type version. */
export interface N8nNode {
  readonly id: string;
  readonly name: string;
  readonly type: string;
  readonly typeVersion: number;
  readonly position: readonly [number, number];
  readonly parameters: Record<string, unknown>;
  /** Credential type -> the imported credential's id and name. */
  readonly credentials?: Record<string, { readonly id: string; readonly name: string }>;
  /** Webhook nodes: n8n registers the production URL under this id as well as the path. */
  readonly webhookId?: string;
}

export type N8nConnections = Record<string, { main: { node: string; type: 'main'; index: number }[][] }>;

export interface N8nWorkflowJson {
  readonly id: string;
  readonly name: string;
  readonly active: false;
  readonly nodes: readonly N8nNode[];
  readonly connections: N8nConnections;
  readonly settings: Record<string, unknown>;
  readonly pinData: Record<string, never>;
}

/** A credential as a node refers to it: the fixed id and name it is imported with. */
export interface CredentialRef {
  readonly type: string;
  readonly id: string;
  readonly name: string;
}

/** A node before it is placed: everything but id and position. */
export type NodeSpec = Omit<N8nNode, 'id' | 'position' | 'credentials'> & {
  readonly credentials?: readonly CredentialRef[];
};

/** n8n workflow ids are 16 characters of [A-Za-z0-9]; ours are fixed so a re-import updates in place. */
export const WORKFLOW_ID = /^[A-Za-z0-9]{16}$/;

/**
 * Places nodes left to right and connects each node's main output to the next one's input: the
 * workflows here are straight lines. Node ids are derived from the workflow id so they stay stable.
 */
/**
 * `alsoStartedBy` is a second trigger wired to the node after the first one: for schedules, an
 * Execute Workflow Trigger so the same run can be started on demand (`n8n execute --id=`, or from
 * another workflow) without waiting for the schedule.
 */
export function linearWorkflow(spec: {
  id: string;
  name: string;
  settings?: Record<string, unknown>;
  nodes: readonly NodeSpec[];
  alsoStartedBy?: NodeSpec;
}): N8nWorkflowJson {
  if (!WORKFLOW_ID.test(spec.id))
    throw new Error(`workflow id "${spec.id}" must be 16 letters or digits (n8n's id format)`);
  const all = spec.alsoStartedBy ? [...spec.nodes, spec.alsoStartedBy] : spec.nodes;
  const names = all.map((n) => n.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice)
    throw new Error(`workflow "${spec.name}": node name "${twice}" is used twice (n8n connects nodes by name)`);
  const nodes = all.map((node, index): N8nNode => {
    const { credentials, ...rest } = node;
    return {
      ...rest,
      id: `${spec.id}-${String(index + 1).padStart(2, '0')}`,
      position: index < spec.nodes.length ? [index * 260, 0] : [0, 200],
      ...(credentials?.length
        ? { credentials: Object.fromEntries(credentials.map((c) => [c.type, { id: c.id, name: c.name }])) }
        : {}),
    };
  });
  // Deployments pass workflows to n8n through Terraform strings, where these would be interpolation.
  const terraformSyntax = JSON.stringify(nodes).match(/\$\{|%\{/);
  if (terraformSyntax)
    throw new Error(
      `workflow "${spec.name}": "${terraformSyntax[0]}" in a node parameter would be read by Terraform; build the string with +`,
    );
  const connections: N8nConnections = {};
  for (let i = 0; i + 1 < spec.nodes.length; i++)
    connections[nodes[i].name] = { main: [[{ node: nodes[i + 1].name, type: 'main', index: 0 }]] };
  if (spec.alsoStartedBy && spec.nodes.length > 1)
    connections[spec.alsoStartedBy.name] = { main: [[{ node: spec.nodes[1].name, type: 'main', index: 0 }]] };
  return {
    id: spec.id,
    name: spec.name,
    active: false,
    nodes,
    connections,
    // v1 execution order is what n8n's editor creates today; every execution is kept until pruning removes it.
    settings: {
      executionOrder: 'v1',
      saveDataErrorExecution: 'all',
      saveDataSuccessExecution: 'all',
      ...spec.settings,
    },
    pinData: {},
  };
}

/**
 * A value known only where n8n runs (a URL, a list id): written `@@NAME@@` here and replaced at
 * provisioning with the container's NAME variable (or the N8N_CREDENTIALS secret's `settings.NAME`).
 * `@@` because `${...}` would be read by Terraform and `{{ }}` by n8n.
 */
export const setting = (name: string): string => {
  if (!/^[A-Z][A-Z0-9_]*$/.test(name)) throw new Error(`setting name "${name}" must be UPPER_SNAKE_CASE`);
  return `@@${name}@@`;
};

/** The settings a workflow refers to, in order of first use. */
export function settingsOf(workflow: N8nWorkflowJson): string[] {
  return [...new Set([...JSON.stringify(workflow).matchAll(/@@([A-Z][A-Z0-9_]*)@@/g)].map((m) => m[1]))];
}
