/**
 * Whether an error means the store or the Redis queue cannot be reached right now (refused or dropped
 * connections, a server shutting down or starting, no free connection, a paused Redis not answering within
 * the command timeout), as opposed to a query it refused: the API answers the first with 503 and
 * Retry-After, since the same request succeeds once the store is back.
 */

/** Node's socket errors when the server is down or unreachable. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs: class 08 (connection exception), admin_shutdown, crash_shutdown, cannot_connect_now,
 * too_many_connections.
 */
const SQLSTATE = /^(08\d{3}|57P0[123]|53300)$/;

/** pg's own messages for a connection it lost or could not get (they carry no code). */
const PG_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end)/;

/**
 * ioredis's own errors for a Redis that does not answer or is not connected (they carry no code): a command
 * timeout, a closed connection, no offline queue while reconnecting, and the retries per request used up.
 */
const REDIS_MESSAGES =
  /^(Command timed out|Connection is closed\.|Stream isn't writeable and enableOfflineQueue options is false|Reached the max retries per request limit)/;

export function isStoreOutage(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const { code, message, errors } = error as { code?: unknown; message?: unknown; errors?: unknown };
  if (typeof code === 'string' && (SOCKET_CODES.has(code) || SQLSTATE.test(code))) return true;
  if (typeof message === 'string' && (PG_MESSAGES.test(message) || REDIS_MESSAGES.test(message))) return true;
  // Node reports a refused dual-stack connect (localhost) as an AggregateError of one per address.
  return Array.isArray(errors) && errors.length > 0 && errors.every(isStoreOutage);
}
