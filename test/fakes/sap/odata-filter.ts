/**
 * A small OData `$filter` evaluator for the ERP fakes: `eq ne gt ge lt le`, `and`, `or`, `not`,
 * parentheses, string, number, boolean, null, GUID and the V2 typed literals `datetime'…'`,
 * `datetimeoffset'…'` and `time'PT…'`, plus V4's bare ISO dates. Dates compare as epoch ms and
 * times as seconds of the day, so the fakes keep them as numbers.
 */

export class FilterError extends Error {}

type Token = { kind: 'name' | 'literal' | 'op' | 'open' | 'close'; value: string | number | boolean | null };
export type Expr =
  | { readonly kind: 'logic'; readonly op: 'and' | 'or'; readonly left: Expr; readonly right: Expr }
  | { readonly kind: 'not'; readonly expr: Expr }
  | { readonly kind: 'compare'; readonly op: string; readonly left: Operand; readonly right: Operand };
export type Operand = { readonly name: string } | { readonly literal: string | number | boolean | null };

const COMPARE = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const DURATION = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$/;

/** Seconds of the day in an Edm.Time literal (`PT08H30M00S`). */
export function timeSeconds(duration: string): number {
  const match = DURATION.exec(duration);
  if (!match) throw new FilterError(`invalid time literal '${duration}'`);
  return Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Math.floor(Number(match[3] ?? 0));
}

function dateMs(text: string): number {
  const ms = Date.parse(/[zZ]|[+-]\d\d:\d\d$/.test(text) ? text : `${text}Z`);
  if (Number.isNaN(ms)) throw new FilterError(`invalid date literal '${text}'`);
  return ms;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const pattern =
    /\s*(?:(\()|(\))|(datetimeoffset|datetime|time|guid)'([^']*)'|'((?:[^']|'')*)'|(-?\d+(?:\.\d+)?)(?![\w-])|(\d{4}-\d\d-\d\dT[\d:.]+Z?)|([A-Za-z_][\w/]*))/y;
  let index = 0;
  while (index < text.length) {
    if (/^\s*$/.test(text.slice(index))) break;
    pattern.lastIndex = index;
    const m = pattern.exec(text);
    if (!m) throw new FilterError(`cannot parse $filter at "${text.slice(index, index + 20)}"`);
    index = pattern.lastIndex;
    if (m[1]) tokens.push({ kind: 'open', value: '(' });
    else if (m[2]) tokens.push({ kind: 'close', value: ')' });
    else if (m[3])
      tokens.push({
        kind: 'literal',
        value: m[3] === 'time' ? timeSeconds(m[4]) : m[3] === 'guid' ? m[4].toLowerCase() : dateMs(m[4]),
      });
    else if (m[5] !== undefined) tokens.push({ kind: 'literal', value: m[5].replace(/''/g, "'") });
    else if (m[6]) tokens.push({ kind: 'literal', value: Number(m[6]) });
    else if (m[7]) tokens.push({ kind: 'literal', value: dateMs(m[7]) });
    else {
      const word = m[8];
      if (COMPARE.has(word) || word === 'and' || word === 'or' || word === 'not')
        tokens.push({ kind: 'op', value: word });
      else if (word === 'true' || word === 'false') tokens.push({ kind: 'literal', value: word === 'true' });
      else if (word === 'null') tokens.push({ kind: 'literal', value: null });
      else tokens.push({ kind: 'name', value: word });
    }
  }
  return tokens;
}

export function parseFilter(text: string): Expr {
  const tokens = tokenize(text);
  let at = 0;
  const peek = () => tokens[at];
  const operand = (): Operand => {
    const token = tokens[at++];
    if (token?.kind === 'name') return { name: String(token.value) };
    if (token?.kind === 'literal') return { literal: token.value };
    throw new FilterError(`expected a property or a literal in $filter "${text}"`);
  };
  const primary = (): Expr => {
    if (peek()?.kind === 'open') {
      at++;
      const inner = or();
      if (tokens[at++]?.kind !== 'close') throw new FilterError(`missing ) in $filter "${text}"`);
      return inner;
    }
    if (peek()?.kind === 'op' && peek().value === 'not') {
      at++;
      return { kind: 'not', expr: primary() };
    }
    const left = operand();
    const op = tokens[at++];
    if (op?.kind !== 'op' || !COMPARE.has(String(op.value)))
      throw new FilterError(`expected a comparison operator in $filter "${text}"`);
    return { kind: 'compare', op: String(op.value), left, right: operand() };
  };
  const and = (): Expr => {
    let left = primary();
    while (peek()?.kind === 'op' && peek().value === 'and') {
      at++;
      left = { kind: 'logic', op: 'and', left, right: primary() };
    }
    return left;
  };
  const or = (): Expr => {
    let left = and();
    while (peek()?.kind === 'op' && peek().value === 'or') {
      at++;
      left = { kind: 'logic', op: 'or', left, right: and() };
    }
    return left;
  };
  const expr = or();
  if (at !== tokens.length) throw new FilterError(`unexpected "${String(tokens[at].value)}" in $filter "${text}"`);
  return expr;
}

/** Every property name the filter reads. */
export function filterNames(expr: Expr): string[] {
  if (expr.kind === 'logic') return [...filterNames(expr.left), ...filterNames(expr.right)];
  if (expr.kind === 'not') return filterNames(expr.expr);
  return [expr.left, expr.right].flatMap((o) => ('name' in o ? [o.name] : []));
}

/** Whether `expr` holds for a record; `caseInsensitive` compares strings as Dataverse does (SAP compares them exactly). */
export function evaluate(expr: Expr, read: (name: string) => unknown, caseInsensitive = false): boolean {
  if (expr.kind === 'logic') {
    return expr.op === 'and'
      ? evaluate(expr.left, read, caseInsensitive) && evaluate(expr.right, read, caseInsensitive)
      : evaluate(expr.left, read, caseInsensitive) || evaluate(expr.right, read, caseInsensitive);
  }
  if (expr.kind === 'not') return !evaluate(expr.expr, read, caseInsensitive);
  const value = (o: Operand) => {
    const v = 'name' in o ? read(o.name) : o.literal;
    return caseInsensitive && typeof v === 'string' ? v.toLowerCase() : (v ?? null);
  };
  const a = value(expr.left);
  const b = value(expr.right);
  if (expr.op === 'eq') return a === b;
  if (expr.op === 'ne') return a !== b;
  if (a === null || b === null) return false;
  if (typeof a !== typeof b) throw new FilterError(`cannot compare ${typeof a} with ${typeof b}`);
  const order = (a as number | string) < (b as number | string) ? -1 : a === b ? 0 : 1;
  return expr.op === 'gt' ? order > 0 : expr.op === 'ge' ? order >= 0 : expr.op === 'lt' ? order < 0 : order <= 0;
}
