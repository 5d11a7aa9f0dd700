/**
 * Checks over synthesized Terraform JSON shared by every cloud's stack tests: references resolve,
 * and the policy rules of test/support/policies hold. No terraform binary is needed (none can
 * download providers here), so these checks read the JSON that cdktf writes.
 */
import { Testing, TerraformStack } from 'cdktf';
import type { Cloud } from '@data-sync/config';
import { policyRules } from './policies';

/** A resource or data source body as cdktf writes it. */
export type Block = Record<string, unknown>;

/** The top-level blocks of a synthesized stack (`cdk.tf.json`). */
export interface TerraformJson {
  readonly terraform?: Record<string, unknown>;
  readonly provider?: Record<string, unknown>;
  readonly resource?: Record<string, Record<string, Block>>;
  readonly data?: Record<string, Record<string, Block>>;
  readonly variable?: Record<string, unknown>;
  readonly locals?: Record<string, unknown>;
  readonly output?: Record<string, unknown>;
  readonly module?: Record<string, unknown>;
}

/** Synthesizes one stack in memory (no files written) and parses its JSON. */
export function synthJson(stack: TerraformStack): TerraformJson {
  return JSON.parse(Testing.synth(stack)) as TerraformJson;
}

/** `[name, body]` of every resource of one type (empty when the stack declares none). */
export function resourcesOf(json: TerraformJson, type: string): Array<[string, Block]> {
  return Object.entries(json.resource?.[type] ?? {});
}

/** `[name, body]` of every data source of one type. */
export function dataSourcesOf(json: TerraformJson, type: string): Array<[string, Block]> {
  return Object.entries(json.data?.[type] ?? {});
}

/** Resource types present in the stack. */
export function resourceTypes(json: TerraformJson): string[] {
  return Object.keys(json.resource ?? {});
}

/** True when a value is (or contains) a Terraform expression, i.e. is not a literal. */
export function isExpression(value: unknown): boolean {
  return typeof value === 'string' && interpolations(value).length > 0;
}

/** A string attribute holding JSON (ECS container definitions, IAM policies), parsed; undefined otherwise. */
export function parseJsonString(value: unknown): unknown {
  if (typeof value !== 'string' || !/^\s*[[{]/.test(value)) return undefined;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

/** Visits every leaf of a value, with its dotted path; JSON held in strings is visited too. */
export function walk(
  value: unknown,
  visit: (path: string, leaf: unknown, key: string) => void,
  path = '',
  key = '',
): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => walk(item, visit, `${path}[${i}]`, key));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) walk(v, visit, path ? `${path}.${k}` : k, k);
  } else {
    visit(path, value, key);
    const nested = parseJsonString(value);
    if (nested !== undefined) walk(nested, visit, `${path}<json>`, key);
  }
}

/** Visits every object (not array) inside a value, JSON held in strings included, with its path. */
export function walkObjects(
  value: unknown,
  visit: (path: string, object: Record<string, unknown>) => void,
  path = '',
): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => walkObjects(item, visit, `${path}[${i}]`));
  } else if (value !== null && typeof value === 'object') {
    visit(path, value as Record<string, unknown>);
    for (const [k, v] of Object.entries(value)) walkObjects(v, visit, path ? `${path}.${k}` : k);
  } else {
    const nested = parseJsonString(value);
    if (nested !== undefined) walkObjects(nested, visit, `${path}<json>`);
  }
}

/** Finds the end of an HCL string literal starting at `start` (the opening quote); returns the index after it. */
function endOfString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    if (text[i] === '\\') i += 2;
    else if (text[i] === '"') return i + 1;
    else if (text[i] === '$' && text[i + 1] === '{') i = endOfInterpolation(text, i + 2);
    else i += 1;
  }
  return i;
}

/** Given the index just after `${`, returns the index just after the matching `}`. */
function endOfInterpolation(text: string, start: number): number {
  let depth = 1;
  let i = start;
  while (i < text.length && depth > 0) {
    const c = text[i];
    if (c === '"') {
      i = endOfString(text, i);
      continue;
    }
    if (c === '{') depth += 1;
    else if (c === '}') depth -= 1;
    i += 1;
  }
  return i;
}

/** The expressions inside every `${...}` of a string (`$${` is an escaped literal and skipped). */
export function interpolations(text: string): string[] {
  const found: string[] = [];
  let i = 0;
  while (i < text.length) {
    const at = text.indexOf('${', i);
    if (at < 0) break;
    if (at > 0 && text[at - 1] === '$') {
      i = at + 2;
      continue;
    }
    const end = endOfInterpolation(text, at + 2);
    found.push(text.slice(at + 2, end - 1));
    i = end;
  }
  return found;
}

const BUILTIN_ROOTS = new Set([
  'each',
  'count',
  'self',
  'path',
  'terraform',
  'true',
  'false',
  'null',
  'for',
  'in',
  'if',
  'endif',
  'else',
  'endfor',
]);

/** Traversal roots (`aws_sqs_queue.jobs.arn` -> ['aws_sqs_queue', 'jobs']) of one expression, strings removed. */
function traversals(expression: string): { segments: string[]; text: string }[] {
  // Literal strings inside the expression may hold their own `${...}`; check those, then blank them.
  let stripped = '';
  const nested: string[] = [];
  for (let i = 0; i < expression.length;) {
    if (expression[i] === '"') {
      const end = endOfString(expression, i);
      nested.push(...interpolations(expression.slice(i + 1, end - 1)));
      stripped += '""';
      i = end;
    } else {
      stripped += expression[i];
      i += 1;
    }
  }
  const iterators = new Set<string>();
  for (const m of stripped.matchAll(/\bfor\s+([A-Za-z_][\w-]*)(?:\s*,\s*([A-Za-z_][\w-]*))?\s+in\b/g)) {
    iterators.add(m[1]);
    if (m[2]) iterators.add(m[2]);
  }
  const out: { segments: string[]; text: string }[] = [];
  const pattern = /(?<![\w.\]])([A-Za-z_][\w-]*)((?:\.[A-Za-z_*][\w-]*|\.\d+|\[[^\]]*\])*)/g;
  for (const m of stripped.matchAll(pattern)) {
    const after = stripped.slice(m.index! + m[0].length);
    if (/^\s*\(/.test(after)) continue; // a function call such as jsonencode(...)
    if (/^\s*=(?!=)/.test(after)) continue; // an object key `{ key = value }`
    if (BUILTIN_ROOTS.has(m[1]) || iterators.has(m[1])) continue;
    const segments = [m[1], ...[...m[2].matchAll(/\.([A-Za-z_][\w-]*)/g)].map((s) => s[1])];
    out.push({ segments, text: m[0] });
  }
  for (const inner of nested) out.push(...traversals(inner));
  return out;
}

/** Why one traversal does not resolve in the stack, or undefined when it does. */
function unresolved(json: TerraformJson, segments: string[]): string | undefined {
  const [root, a, b] = segments;
  switch (root) {
    case 'var':
      return a !== undefined && json.variable?.[a] !== undefined ? undefined : `variable "${a}" is not declared`;
    case 'local':
      return a !== undefined && json.locals?.[a] !== undefined ? undefined : `local "${a}" is not declared`;
    case 'module':
      return a !== undefined && json.module?.[a] !== undefined ? undefined : `module "${a}" is not declared`;
    case 'data':
      return a !== undefined && b !== undefined && json.data?.[a]?.[b] !== undefined
        ? undefined
        : `data source ${a}.${b} is not declared`;
    default:
      if (a === undefined) return `"${root}" is not a resource, data source, variable, local or module reference`;
      return json.resource?.[root]?.[a] !== undefined ? undefined : `resource ${root}.${a} is not declared`;
  }
}

/**
 * Every `${...}` reference in the stack (nested in functions, in strings inside expressions, in
 * JSON held by strings) must resolve to a resource, data source, variable, local or module declared
 * in that same stack. Returns one message per unresolved reference; empty when all resolve.
 */
export function checkReferences(json: TerraformJson): string[] {
  const problems: string[] = [];
  walk(json, (path, leaf) => {
    if (typeof leaf !== 'string' || path.includes('<json>')) return;
    for (const expression of interpolations(leaf)) {
      for (const { segments, text } of traversals(expression)) {
        const why = unresolved(json, segments);
        if (why) problems.push(`${path}: \${${expression}} -> ${text}: ${why}`);
      }
    }
  });
  return problems;
}

/**
 * Applies the cross-cloud policy rules and the rules of test/support/policies/<cloud>.ts.
 * Returns `[rule id] message` per violation; a cloud without a rule module is itself a violation.
 */
export function checkPolicies(json: TerraformJson, cloud: Cloud): string[] {
  const rules = policyRules(cloud);
  if (!rules) return [`[policies] no policy module for cloud "${cloud}" in test/support/policies/index.ts`];
  return rules.flatMap((rule) => rule.check(json).map((message) => `[${rule.id}] ${message}`));
}

/** Leaf paths whose values differ between two syntheses (JSON held in strings compared leaf by leaf too). */
export function changedPaths(a: TerraformJson, b: TerraformJson): string[] {
  const leaves = (json: TerraformJson) => {
    const map = new Map<string, unknown>();
    walk(json, (path, leaf) => map.set(path, leaf));
    return map;
  };
  const la = leaves(a);
  const lb = leaves(b);
  return [...new Set([...la.keys(), ...lb.keys()])].filter((path) => la.get(path) !== lb.get(path)).sort();
}

/**
 * Each capability the stack provides must name a resource address (`<type>.<logical id>`) declared
 * in its JSON, and each capability must be provided or excepted with a reason. Returns problems.
 */
export function checkCapabilities(
  stack: { readonly capabilities: ReadonlyMap<string, string>; readonly exceptions: ReadonlyMap<string, string> },
  json: TerraformJson,
  capabilities: readonly string[],
): string[] {
  const problems: string[] = [];
  for (const capability of capabilities) {
    const address = stack.capabilities.get(capability);
    const reason = stack.exceptions.get(capability);
    if (address === undefined && (reason ?? '').trim().length < 20)
      problems.push(`${capability} is neither provided nor excepted with a reason`);
    if (address !== undefined && reason !== undefined) problems.push(`${capability} is both provided and excepted`);
    if (address === undefined) continue;
    const match = /^([a-z][a-z0-9]*_[a-z0-9_]+)\.([A-Za-z0-9_-]+)$/.exec(address);
    if (!match) problems.push(`${capability} -> "${address}" is not a resource address`);
    else if (!json.resource?.[match[1]]?.[match[2]])
      problems.push(`${capability} -> ${address} is not declared in the stack`);
  }
  return problems;
}
