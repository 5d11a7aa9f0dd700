/**
 * Checks a request a fake received against the operations a vendor's machine-readable API description
 * declares (an `operations.json` derived from it by the vendor folder's extract script, so the fake
 * needs neither the description's format nor its file at run time): the method and path exist, every
 * query parameter is declared, required ones are present and values fit their type, bounds and enum, the
 * content type is one the operation takes, and a JSON body fits the declared schema (required members,
 * types, enums, and no undeclared member where the description closes the object). Returns the problems;
 * none for a conforming request.
 */
import type { FakeRequest } from '@data-sync/integrations/contract/fake-kit';

/** The subset of JSON Schema the extract scripts keep. */
export interface Schema {
  readonly $ref?: string;
  readonly type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly required?: readonly string[];
  /** False: members not in `properties` are not part of the API (discovery documents' schemas are closed). */
  readonly additionalProperties?: boolean;
  readonly items?: Schema;
  readonly minItems?: number;
  readonly enum?: readonly (string | number | boolean)[];
  readonly minimum?: number;
  readonly maximum?: number;
  /** Regular expression a string (or path segment) must match. */
  readonly pattern?: string;
}

/** A query or path parameter's rule; `mandatory` where the description requires it. */
export type QueryRule = Omit<Schema, 'required' | 'properties' | 'items'> & { readonly mandatory?: boolean };

export interface DescribedOperation {
  readonly method: string;
  /** Path as the request carries it, with `{name}` for a segment. */
  readonly path: string;
  readonly pathParams?: Readonly<Record<string, QueryRule>>;
  readonly query: Readonly<Record<string, QueryRule>>;
  /** Media types the request body may have; empty when the operation takes none. */
  readonly contentTypes: readonly string[];
  readonly body?: Schema;
}

export interface Description {
  /** Where the description came from (repository, commit, path, licence). */
  readonly source: string;
  readonly schemas?: Readonly<Record<string, Schema>>;
  readonly operations: readonly DescribedOperation[];
  /** Query parameters every operation takes (discovery documents' system parameters). */
  readonly commonQuery?: Readonly<Record<string, QueryRule>>;
}

function scalarProblem(where: string, raw: string, rule: QueryRule): string | undefined {
  if (rule.type === 'integer') {
    if (!/^-?\d+$/.test(raw)) return `${where}: "${raw}" is not an integer`;
  } else if (rule.type === 'number') {
    if (Number.isNaN(Number(raw))) return `${where}: "${raw}" is not a number`;
  } else if (rule.type === 'boolean' && raw !== 'true' && raw !== 'false')
    return `${where}: "${raw}" is not true or false`;
  const n = Number(raw);
  if (rule.minimum !== undefined && n < rule.minimum) return `${where}: ${raw} < minimum ${rule.minimum}`;
  if (rule.maximum !== undefined && n > rule.maximum) return `${where}: ${raw} > maximum ${rule.maximum}`;
  if (rule.enum && !rule.enum.map(String).includes(raw))
    return `${where}: "${raw}" is not one of ${rule.enum.slice(0, 8).join(', ')}`;
  if (rule.pattern && !new RegExp(rule.pattern).test(raw)) return `${where}: "${raw}" does not match ${rule.pattern}`;
  return undefined;
}

function typeOf(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** The problems of `value` against `schema`, at `where` (a JSON path). */
export function checkValue(
  description: Description,
  where: string,
  value: unknown,
  given: Schema,
  depth = 0,
): string[] {
  const schema = given.$ref ? description.schemas?.[given.$ref] : given;
  if (!schema) return [`${where}: the description names an unknown schema ${given.$ref}`];
  // Recursive schemas (filter expressions) are checked to a bounded depth.
  if (depth > 12 || value === undefined) return [];
  const actual = typeOf(value);
  if (schema.type) {
    const fits = schema.type === actual || (schema.type === 'number' && actual === 'integer');
    if (!fits) return [`${where}: ${actual} where the description has ${schema.type}`];
  }
  if (schema.enum && !schema.enum.includes(value as string))
    return [`${where}: ${JSON.stringify(value)} is not one of ${schema.enum.slice(0, 8).join(', ')}`];
  if (actual === 'string' && schema.pattern && !new RegExp(schema.pattern).test(value as string))
    return [`${where}: "${String(value)}" does not match ${schema.pattern}`];
  if (actual === 'integer' || actual === 'number') {
    const problem = scalarProblem(where, String(value), { minimum: schema.minimum, maximum: schema.maximum });
    if (problem) return [problem];
  }
  if (actual === 'array') {
    const items = value as unknown[];
    const problems: string[] = [];
    if (schema.minItems !== undefined && items.length < schema.minItems)
      problems.push(`${where}: fewer than ${schema.minItems} items`);
    if (schema.items)
      items.forEach((item, i) =>
        problems.push(...checkValue(description, `${where}[${i}]`, item, schema.items!, depth + 1)),
      );
    return problems;
  }
  if (actual === 'object') {
    const object = value as Record<string, unknown>;
    const problems: string[] = [];
    for (const name of schema.required ?? [])
      if (object[name] === undefined) problems.push(`${where}.${name}: required by the description, missing`);
    for (const [name, member] of Object.entries(object)) {
      const declared = schema.properties?.[name];
      if (declared) problems.push(...checkValue(description, `${where}.${name}`, member, declared, depth + 1));
      else if (schema.additionalProperties === false)
        problems.push(`${where}.${name}: not a member the description declares`);
    }
    return problems;
  }
  return [];
}

const patterns = new WeakMap<DescribedOperation, { regex: RegExp; names: string[] }>();
function pathPattern(op: DescribedOperation): { regex: RegExp; names: string[] } {
  let compiled = patterns.get(op);
  if (!compiled) {
    const names: string[] = [];
    const escaped = op.path
      .split(/(\{[^}]+\})/)
      .map((part) =>
        /^\{[^}]+\}$/.test(part)
          ? (names.push(part.slice(1, -1)), '([^/]+)')
          : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('');
    compiled = { regex: new RegExp(`^${escaped}$`), names };
    patterns.set(op, compiled);
  }
  return compiled;
}

/** The operation `method pathname` is, literal paths before templated ones; undefined when the description has none. */
export function findOperation(description: Description, method: string, pathname: string) {
  const candidates = description.operations
    .filter((op) => op.method === method.toUpperCase())
    .sort((a, b) => a.path.split('{').length - b.path.split('{').length);
  for (const op of candidates) {
    const match = pathPattern(op).regex.exec(pathname);
    if (match) return { op, params: Object.fromEntries(pathPattern(op).names.map((n, i) => [n, match[i + 1]])) };
  }
  return undefined;
}

export interface CheckOptions {
  /**
   * False where the vendor itself validates the body record by record and answers per record (Mixpanel's
   * strict /import): the fake answers that, so the schema must not refuse the whole request.
   * @default true
   */
  readonly body?: boolean;
}

/** The problems of `request` against `description`; one problem when it declares no such operation. */
export function checkRequest(description: Description, request: FakeRequest, options: CheckOptions = {}): string[] {
  const { method, url } = request;
  const found = findOperation(description, method, url.pathname);
  const at = `${method} ${url.pathname}`;
  if (!found) return [`${at}: not an operation of the description`];
  const { op, params } = found;
  const problems: string[] = [];
  for (const [name, raw] of Object.entries(params)) {
    const rule = op.pathParams?.[name];
    const problem = rule && scalarProblem(`path {${name}}`, decodeURIComponent(raw), rule);
    if (problem) problems.push(problem);
  }
  for (const [name, raw] of url.searchParams) {
    const rule = op.query[name] ?? description.commonQuery?.[name];
    if (!rule) problems.push(`query parameter ${name} is not declared for ${op.method} ${op.path}`);
    else {
      const problem = scalarProblem(name, raw, rule);
      if (problem) problems.push(problem);
    }
  }
  for (const [name, rule] of Object.entries(op.query))
    if (rule.mandatory && !url.searchParams.has(name)) problems.push(`required query parameter ${name} is missing`);
  const contentType = String(request.headers['content-type'] ?? '')
    .split(';')[0]
    .trim()
    .toLowerCase();
  if (request.body.length > 0) {
    if (!op.contentTypes.includes(contentType))
      problems.push(
        `a ${contentType || 'untyped'} body where the description takes ${op.contentTypes.join(', ') || 'none'}`,
      );
    else if (contentType.endsWith('json') && op.body && options.body !== false) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(request.body.toString('utf8'));
      } catch {
        problems.push('the body is not JSON');
      }
      if (parsed !== undefined) problems.push(...checkValue(description, 'body', parsed, op.body));
    }
  }
  return problems.map((problem) => `${at}: ${problem}`);
}
