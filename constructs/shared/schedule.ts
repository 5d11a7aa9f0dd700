/**
 * What every cloud's schedules share: the sync-job message a schedule sends, and sync_interval as
 * rate or cron expressions. No provider is imported here.
 */
import { type IntegrationSettings, intervalMinutes } from '@data-sync/config';
import { scheduleMessage } from '@data-sync/config/job-message';

/** The message a schedule puts on the queue (config/job-message.ts): it names the integration, and the runtime creates the run. */
export function triggerMessage(integration: IntegrationSettings): string {
  return JSON.stringify(scheduleMessage(integration.name));
}

/** `rate(...)` expression for a sync_interval: `15m` -> `rate(15 minutes)`, `1h` -> `rate(1 hour)`. */
export function rateExpression(syncInterval: string): string {
  const minutes = intervalMinutes(syncInterval);
  const [value, unit] =
    minutes % 1440 === 0 ? [minutes / 1440, 'day'] : minutes % 60 === 0 ? [minutes / 60, 'hour'] : [minutes, 'minute'];
  return `rate(${value} ${unit}${value === 1 ? '' : 's'})`;
}

/**
 * A sync_interval as the one 5-field cron expression (UTC) every cron-based scheduler gets (Cloud Scheduler,
 * Container Apps jobs, Cron Triggers, OCI Resource Scheduler, Code Engine): `1m` -> `* * * * *`,
 * `15m` -> `*\/15 * * * *`, `1h` -> `0 * * * *`, `6h` -> `0 *\/6 * * *`, `1d` -> `0 0 * * *`, `2d` -> `0 0 *\/2 * *`
 * (restarting on each month's first day). Intervals cron cannot repeat evenly (`45m`, `5h`, over 28 days) throw.
 */
export function cronExpression(syncInterval: string): string {
  const minutes = intervalMinutes(syncInterval);
  const [hours, days] = [minutes / 60, minutes / 1440];
  if (minutes < 60 && 60 % minutes === 0) return minutes === 1 ? '* * * * *' : `*/${minutes} * * * *`;
  if (Number.isInteger(hours) && hours < 24 && 24 % hours === 0) {
    return hours === 1 ? '0 * * * *' : `0 */${hours} * * *`;
  }
  if (Number.isInteger(days) && days <= 28) return days === 1 ? '0 0 * * *' : `0 0 */${days} * *`;
  const use = 'use a divisor of 60 minutes, a divisor of 24 hours, or whole days up to 28';
  throw new Error(`sync_interval "${syncInterval}" cannot be expressed as a cron schedule: ${use}`);
}
