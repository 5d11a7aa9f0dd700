/**
 * Cloud-neutral pieces every cloud's constructs share: the n8n image, the sync-job message a
 * schedule sends, and sync_interval as rate or cron expressions. No provider is imported here.
 */
import { type IntegrationSettings, intervalMinutes } from '@data-sync/config';
import { scheduleMessage } from '@data-sync/config/job-message';

/**
 * The one n8n version every cloud runs, and the test tier installs (`npm run test:n8n`). Pinned: n8n's
 * database migrations are one-way, and its CLI and node parameters are checked against this version.
 */
export const N8N_VERSION = '2.41.1';
/** n8n's official image at N8N_VERSION. */
export const N8N_IMAGE = `docker.n8n.io/n8nio/n8n:${N8N_VERSION}`;

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

/** Cron for a sync_interval: `15m` -> `*\/15 * * * *`, `1h` -> `0 * * * *`, `6h` -> `0 *\/6 * * *`, `1d` -> `0 0 * * *`. */
export function cronExpression(syncInterval: string): string {
  const minutes = intervalMinutes(syncInterval);
  if (minutes < 60 && 60 % minutes === 0) return `*/${minutes} * * * *`;
  if (minutes % 60 === 0 && minutes < 1440 && 1440 % minutes === 0)
    return minutes === 60 ? '0 * * * *' : `0 */${minutes / 60} * * *`;
  if (minutes % 1440 === 0 && minutes / 1440 <= 28)
    return minutes === 1440 ? '0 0 * * *' : `0 0 */${minutes / 1440} * *`;
  throw new Error(
    `sync_interval "${syncInterval}" has no exact cron form: use a divisor of an hour or of a day, or whole days`,
  );
}
