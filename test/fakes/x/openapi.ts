/**
 * Checks a request against the X API v2 OpenAPI description in vendor-specs (read at run time, not
 * copied): the path and method exist, and every path and query parameter is declared, required ones
 * present, and each value fits its schema (integer bounds, string pattern and length, comma-separated
 * array items from the enum). Returns the problems found; none for a conforming request.
 */
import * as fs from 'fs';

export const X_OPENAPI_PATH = '/work/shared/vendor-specs/x/x-api-v2.openapi.json';

type Schema = {
  type?: string;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  enum?: string[];
  items?: Schema;
  $ref?: string;
  format?: string;
};
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: Schema;
  $ref?: string;
}
interface Spec {
  paths: Record<string, Record<string, { parameters?: Parameter[] }>>;
  components: { parameters: Record<string, Parameter>; schemas: Record<string, Schema> };
}

/** Whether the description is on this machine (vendor-specs is not part of the repository). */
export const X_OPENAPI_PRESENT = fs.existsSync(X_OPENAPI_PATH);

let cached: Spec | undefined;
function spec(): Spec {
  cached ??= JSON.parse(fs.readFileSync(X_OPENAPI_PATH, 'utf8')) as Spec;
  return cached;
}

const deref = <T extends { $ref?: string }>(item: T): T => {
  if (!item.$ref) return item;
  const [, , section, name] = item.$ref.split('/');
  return deref((spec().components as unknown as Record<string, Record<string, T>>)[section][name]);
};

function checkValue(name: string, raw: string, schema: Schema): string[] {
  const s = deref(schema);
  if (s.type === 'integer') {
    if (!/^-?\d+$/.test(raw)) return [`${name}: "${raw}" is not an integer`];
    const n = Number(raw);
    if (s.minimum !== undefined && n < s.minimum) return [`${name}: ${n} < minimum ${s.minimum}`];
    if (s.maximum !== undefined && n > s.maximum) return [`${name}: ${n} > maximum ${s.maximum}`];
    return [];
  }
  if (s.type === 'array') return raw.split(',').flatMap((item) => checkValue(name, item, s.items ?? {}));
  const problems: string[] = [];
  if (s.enum && !s.enum.includes(raw)) problems.push(`${name}: "${raw}" is not one of the documented values`);
  if (s.pattern && !new RegExp(s.pattern).test(raw)) problems.push(`${name}: "${raw}" does not match ${s.pattern}`);
  if (s.minLength !== undefined && raw.length < s.minLength) problems.push(`${name}: shorter than ${s.minLength}`);
  if (s.maxLength !== undefined && raw.length > s.maxLength) problems.push(`${name}: longer than ${s.maxLength}`);
  if (s.format === 'date-time' && Number.isNaN(Date.parse(raw))) problems.push(`${name}: "${raw}" is not a date-time`);
  return problems;
}

/** The problems of `method pathname?query` against the description; [`unknown operation`] when it has none. */
export function checkXRequest(method: string, url: URL): string[] {
  // Literal paths first: /2/users/me is its own operation, not /2/users/{id} with id "me".
  const paths = Object.entries(spec().paths).sort(([a], [b]) => a.split('{').length - b.split('{').length);
  for (const [template, operations] of paths) {
    const names: string[] = [];
    const pattern = new RegExp(`^${template.replace(/\{([^}]+)\}/g, (_, n) => (names.push(n), '([^/]+)'))}$`);
    const match = pattern.exec(url.pathname);
    if (!match) continue;
    const operation = operations[method.toLowerCase()];
    if (!operation) return [`${method} ${template}: no such operation`];
    const parameters = (operation.parameters ?? []).map(deref);
    const problems: string[] = [];
    names.forEach((name, i) => {
      const declared = parameters.find((p) => p.in === 'path' && p.name === name);
      if (declared?.schema) problems.push(...checkValue(name, decodeURIComponent(match[i + 1]), declared.schema));
    });
    const query = parameters.filter((p) => p.in === 'query');
    for (const [name, value] of url.searchParams) {
      const declared = query.find((p) => p.name === name);
      if (!declared) problems.push(`${method} ${template}: undeclared query parameter ${name}`);
      else if (declared.schema) problems.push(...checkValue(name, value, declared.schema));
    }
    for (const p of query)
      if (p.required && !url.searchParams.has(p.name))
        problems.push(`${method} ${template}: missing required ${p.name}`);
    return problems.map((p) => `${method} ${url.pathname}: ${p}`);
  }
  return [`${method} ${url.pathname}: unknown operation`];
}
