/** UTC calendar days as the analytics export APIs name them, and the cursors of those connectors. */
import { IntegrationError } from '../../connector';

const DAY = 86_400_000;

/** `YYYY-MM-DD` of a time, in UTC. */
export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** The day `n` days after `day` (negative: before). */
export const addDays = (day: string, n: number): string => utcDay(Date.parse(`${day}T00:00:00Z`) + n * DAY);

/** Whole days from `a` to `b`. */
export const daysBetween = (a: string, b: string): number =>
  Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / DAY);

export const minDay = (a: string, b: string): string => (a < b ? a : b);
export const maxDay = (a: string, b: string): string => (a > b ? a : b);

/** Parses a cursor this connector wrote; anything else is a clear error rather than a silent full sync. */
export function readCursor<T>(integration: string, cursor: string, check: (value: any) => boolean): T {
  let value: unknown;
  try {
    value = JSON.parse(cursor);
  } catch {
    value = undefined;
  }
  if (!value || typeof value !== 'object' || !check(value))
    throw new IntegrationError(
      integration,
      'invalid_config',
      `unreadable cursor ${JSON.stringify(cursor).slice(0, 120)}; reset the integration to sync from the start`,
    );
  return value as T;
}
