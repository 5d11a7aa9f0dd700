/** Opaque cursors: base64url JSON, validated on the way back in so a corrupt cursor is a clear error. */
import type { ZodType } from 'zod';
import { IntegrationError } from '../../connector';

export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function decodeCursor<T>(integration: string, cursor: string | null, schema: ZodType<T>, initial: T): T {
  if (cursor === null || cursor === '') return initial;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new IntegrationError(
      integration,
      'invalid_config',
      `cursor "${cursor.slice(0, 40)}" is not a cursor this connector wrote; reset the sync state`,
    );
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    throw new IntegrationError(
      integration,
      'invalid_config',
      `cursor does not match this connector's format (${result.error.issues[0]?.message}); reset the sync state`,
    );
  }
  return result.data;
}
