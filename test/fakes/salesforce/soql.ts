/**
 * The subset of SOQL the Salesforce fake evaluates: SELECT fields (with parent relationship fields
 * such as Account.Name) FROM object, WHERE with AND/OR/NOT, parentheses, = != < <= > >= IN and
 * LIKE on strings, dates, numbers, booleans and null, ORDER BY and LIMIT. Anything else is a
 * MALFORMED_QUERY, as Salesforce would answer for invalid SOQL.
 */
export class SoqlError extends Error {}

export type Literal = string | number | boolean | null | { readonly datetime: number };

export type Condition =
  | { readonly kind: 'cmp'; readonly field: string; readonly op: string; readonly value: Literal }
  | { readonly kind: 'in'; readonly field: string; readonly values: readonly Literal[]; readonly negate: boolean }
  | { readonly kind: 'and' | 'or'; readonly left: Condition; readonly right: Condition }
  | { readonly kind: 'not'; readonly inner: Condition };

export interface SoqlQuery {
  readonly fields: readonly string[];
  readonly object: string;
  readonly where?: Condition;
  readonly orderBy: readonly { readonly field: string; readonly desc: boolean }[];
  readonly limit?: number;
}

const TOKEN =
  /\s*(?:('(?:[^'\\]|\\.)*')|(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))|(-?\d+(?:\.\d+)?)|(<=|>=|!=|<>|=|<|>|\(|\)|,)|([A-Za-z_][A-Za-z0-9_.]*))/y;

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  let index = 0;
  while (index < text.length) {
    if (/^\s*$/.test(text.slice(index))) break;
    TOKEN.lastIndex = index;
    const match = TOKEN.exec(text);
    if (!match) throw new SoqlError(`unexpected token at: ${text.slice(index, index + 20)}`);
    tokens.push(match[0].trim());
    index = TOKEN.lastIndex;
  }
  return tokens;
}

export function parseSoql(text: string): SoqlQuery {
  const tokens = tokenize(text);
  let position = 0;
  const peek = () => tokens[position];
  const upper = () => (tokens[position] ?? '').toUpperCase();
  const take = () => {
    if (position >= tokens.length) throw new SoqlError('unexpected end of query');
    return tokens[position++];
  };
  const expect = (word: string) => {
    const got = take();
    if (got.toUpperCase() !== word) throw new SoqlError(`expected ${word}, got ${got}`);
  };

  expect('SELECT');
  const fields: string[] = [];
  for (;;) {
    const field = take();
    if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(field)) throw new SoqlError(`bad field ${field}`);
    fields.push(field);
    if (peek() !== ',') break;
    take();
  }
  expect('FROM');
  const object = take();

  const literal = (): Literal => {
    const token = take();
    if (token.startsWith("'")) return token.slice(1, -1).replace(/\\(.)/g, '$1');
    if (/^\d{4}-\d{2}-\d{2}T/.test(token))
      return { datetime: Date.parse(token.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')) };
    if (/^-?\d/.test(token)) return Number(token);
    if (/^(true|false)$/i.test(token)) return token.toLowerCase() === 'true';
    if (/^null$/i.test(token)) return null;
    throw new SoqlError(`bad literal ${token}`);
  };
  const primary = (): Condition => {
    if (peek() === '(') {
      take();
      const inner = orExpr();
      if (take() !== ')') throw new SoqlError('missing )');
      return inner;
    }
    if (upper() === 'NOT') {
      take();
      return { kind: 'not', inner: primary() };
    }
    const field = take();
    let op = take().toUpperCase();
    const negate = op === 'NOT' && upper() === 'IN';
    if (negate) op = take().toUpperCase();
    if (op === 'IN') {
      if (take() !== '(') throw new SoqlError('IN needs (');
      const values: Literal[] = [literal()];
      while (peek() === ',') {
        take();
        values.push(literal());
      }
      if (take() !== ')') throw new SoqlError('missing ) after IN list');
      return { kind: 'in', field, values, negate };
    }
    if (!['=', '!=', '<>', '<', '<=', '>', '>=', 'LIKE'].includes(op)) throw new SoqlError(`bad operator ${op}`);
    return { kind: 'cmp', field, op: op === '<>' ? '!=' : op, value: literal() };
  };
  const andExpr = (): Condition => {
    let left = primary();
    while (upper() === 'AND') {
      take();
      left = { kind: 'and', left, right: primary() };
    }
    return left;
  };
  const orExpr = (): Condition => {
    let left = andExpr();
    while (upper() === 'OR') {
      take();
      left = { kind: 'or', left, right: andExpr() };
    }
    return left;
  };

  let where: Condition | undefined;
  if (upper() === 'WHERE') {
    take();
    where = orExpr();
  }
  const orderBy: { field: string; desc: boolean }[] = [];
  if (upper() === 'ORDER') {
    take();
    expect('BY');
    for (;;) {
      const field = take();
      let desc = false;
      if (upper() === 'ASC' || upper() === 'DESC') desc = take().toUpperCase() === 'DESC';
      orderBy.push({ field, desc });
      if (peek() !== ',') break;
      take();
    }
  }
  let limit: number | undefined;
  if (upper() === 'LIMIT') {
    take();
    limit = Number(take());
    if (!Number.isInteger(limit) || limit < 0) throw new SoqlError('bad LIMIT');
  }
  if (position !== tokens.length) throw new SoqlError(`unexpected ${tokens[position]}`);
  return { fields, object, where, orderBy, limit };
}

/** Comparable form of a stored value: datetimes to epoch ms, the rest as is. */
function comparable(value: unknown): unknown {
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/.test(value))
    return Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return value;
}

function literalValue(literal: Literal): unknown {
  return literal !== null && typeof literal === 'object' ? literal.datetime : literal;
}

export function matches(condition: Condition | undefined, get: (field: string) => unknown): boolean {
  if (!condition) return true;
  switch (condition.kind) {
    case 'and':
      return matches(condition.left, get) && matches(condition.right, get);
    case 'or':
      return matches(condition.left, get) || matches(condition.right, get);
    case 'not':
      return !matches(condition.inner, get);
    case 'in': {
      const value = comparable(get(condition.field));
      const found = condition.values.some((v) => literalValue(v) === value);
      return condition.negate ? !found : found;
    }
    case 'cmp': {
      const left = comparable(get(condition.field)) as string | number | null;
      const right = literalValue(condition.value) as string | number | null;
      if (condition.op === 'LIKE') {
        const pattern = new RegExp(
          `^${String(right)
            .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
            .replace(/%/g, '.*')
            .replace(/_/g, '.')}$`,
          'i',
        );
        return left !== null && pattern.test(String(left));
      }
      if (condition.op === '=')
        return typeof left === 'string' && typeof right === 'string'
          ? left.toLowerCase() === right.toLowerCase()
          : left === right;
      if (condition.op === '!=') return left !== right;
      if (left === null || right === null) return false;
      if (condition.op === '<') return left < right;
      if (condition.op === '<=') return left <= right;
      if (condition.op === '>') return left > right;
      return left >= right;
    }
  }
}

export function compareBy(
  orderBy: SoqlQuery['orderBy'],
  get: (row: Record<string, unknown>, field: string) => unknown,
) {
  return (a: Record<string, unknown>, b: Record<string, unknown>): number => {
    for (const { field, desc } of orderBy) {
      const x = comparable(get(a, field)) as string | number;
      const y = comparable(get(b, field)) as string | number;
      if (x === y) continue;
      const order = x < y ? -1 : 1;
      return desc ? -order : order;
    }
    return 0;
  };
}
