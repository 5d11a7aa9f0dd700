/**
 * What every cloud's schedules share: the sync-job message a schedule sends, and sync_interval as
 * rate or cron expressions. No provider is imported here.
 */
import { type IntegrationSettings, intervalMinutes } from '../../config';
import { scheduleMessage } from '../../config/job-message';

/** The message a schedule puts on the queue (config/job-message.ts): it names the integration, and the runtime creates the run. */
export function triggerMessage(integration: IntegrationSettings): string {
  return JSON.stringify(scheduleMessage(integration.name));
}

/** `rate(...)` expression for a sync_interval: `15m` -> `rate(15 minutes)`, `1h` -> `rate(1 hour)`. */
export function rateExpression(syncInterval: string): string {
  const minutes = intervalMinutes(syncInterval);
  const [value, unit] = minutes % 1440 === 0 ? [minutes / 1440, 'day'] : minutes % 60 === 0 ? [minutes / 60, 'hour'] : [minutes, 'minute'];
  return `rate(${value} ${unit}${value === 1 ? '' : 's'})`;
}

/** Cron for a sync_interval: `15m` -> `*\/15 * * * *`, `1h` -> `0 * * * *`, `6h` -> `0 *\/6 * * *`, `1d` -> `0 0 * * *`. */
export function cronExpression(syncInterval: string): string {
  const minutes = intervalMinutes(syncInterval);
  if (minutes < 60 && 60 % minutes === 0) return `*/${minutes} * * * *`;
  if (minutes % 60 === 0 && minutes < 1440 && 1440 % minutes === 0) return minutes === 60 ? '0 * * * *' : `0 */${minutes / 60} * * *`;
  if (minutes % 1440 === 0 && minutes / 1440 <= 28) return minutes === 1440 ? '0 0 * * *' : `0 0 */${minutes / 1440} * *`;
  throw new Error(`sync_interval "${syncInterval}" has no exact cron form: use a divisor of an hour or of a day, or whole days`);
}

/**
 * A sync_interval as a 5-field cron expression (UTC): `15m` -> `*\/15 * * * *`, `1h` -> `0 * * * *`,
 * `6h` -> `0 *\/6 * * *`, `1d` -> `0 0 * * *`. Intervals cron cannot repeat evenly (`45m`, `5h`)
 * throw, naming the value; `<n>d` restarts at each month's first day.
 */
export function cronFor(interval: string): string {
  const minutes = intervalMinutes(interval);
  if (minutes < 60 && 60 % minutes === 0) return minutes === 1 ? '* * * * *' : `*/${minutes} * * * *`;
  if (minutes % 60 === 0 && minutes < 1440 && 24 % (minutes / 60) === 0) return minutes === 60 ? '0 * * * *' : `0 */${minutes / 60} * * *`;
  if (minutes % 1440 === 0) return minutes === 1440 ? '0 0 * * *' : `0 0 */${minutes / 1440} * *`;
  throw new Error(`sync_interval "${interval}" cannot be expressed as a cron schedule: use a divisor of 60 minutes, a divisor of 24 hours, or whole days`);
}
