/**
 * Checks on request data that JSON.parse accepts but the steps after it cannot take:
 * - nesting: a body nested hundreds of thousands deep parses, but everything after it (schema checks,
 *   masking, JSON.stringify into the queue, the pipeline) walks it recursively and overflows the stack;
 * - lone UTF-16 surrogates (`"\ud800"`): valid JSON escapes but not text, which PostgreSQL's jsonb refuses;
 * - the NUL character, which PostgreSQL's text and jsonb refuse (checked here, not only when a row is
 *   written, because a Worker queues webhook events without the database).
 * Either would be a 500 on the request, or a job that can never succeed.
 */
import { ApiError } from './errors';

/** A high surrogate without its low half, or a low one without its high half. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Deepest nesting of objects and arrays a request body or webhook event may have; vendor records nest a few levels. */
export const MAX_NESTING = 64;

const NUL = '\u0000';

/** What is wrong with `value`, if anything (iterative: safe at any depth). */
function problemWith(value: unknown): 'too_deeply_nested' | 'malformed_unicode' | 'unstorable_text' | undefined {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (typeof item === 'string') {
      if (LONE_SURROGATE.test(item)) return 'malformed_unicode';
      if (item.includes(NUL)) return 'unstorable_text';
      continue;
    }
    if (item === null || typeof item !== 'object') continue;
    if (depth >= MAX_NESTING) return 'too_deeply_nested';
    for (const [key, child] of Object.entries(item)) stack.push([key, depth + 1], [child, depth + 1]);
  }
  return undefined;
}

/** `value`, or a 400 naming `what` when it nests deeper than MAX_NESTING or holds a lone surrogate. */
export function checkedRequestData<T>(value: T, what: string): T {
  const problem = problemWith(value);
  if (problem === 'too_deeply_nested')
    throw new ApiError(400, problem, `${what} nests objects or arrays deeper than ${MAX_NESTING} levels`, {
      maxDepth: MAX_NESTING,
    });
  if (problem === 'unstorable_text')
    throw new ApiError(400, problem, `${what} holds text the database cannot store (the NUL character \\u0000)`, null);
  if (problem === 'malformed_unicode')
    throw new ApiError(
      400,
      problem,
      `${what} holds a lone UTF-16 surrogate (such as \\ud800), which is not text`,
      null,
    );
  return value;
}
