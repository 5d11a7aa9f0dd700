/**
 * A bound on how deep request data may nest. JSON.parse takes a body nested hundreds of thousands deep,
 * but everything after it (schema checks, masking, JSON.stringify into the queue, the pipeline) walks it
 * recursively and would overflow the stack: a 500 on the request, or a job that can never succeed.
 */
import { ApiError } from './errors';

/** Deepest nesting of objects and arrays a request body or webhook event may have; vendor records nest a few levels. */
export const MAX_NESTING = 64;

/** Whether `value` nests objects or arrays deeper than `limit` (iterative: safe at any depth). */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth >= limit) return true;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return false;
}

/** `value`, or a 400 naming `what` when it nests deeper than MAX_NESTING. */
export function boundedNesting<T>(value: T, what: string): T {
  if (nestsDeeperThan(value, MAX_NESTING)) throw new ApiError(400, 'too_deeply_nested', `${what} nests objects or arrays deeper than ${MAX_NESTING} levels`, { maxDepth: MAX_NESTING });
  return value;
}
