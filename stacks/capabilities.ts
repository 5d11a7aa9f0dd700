/** The capabilities every cloud stack provides (ARCHITECTURE.md), or names why not. */
export const CAPABILITIES = [
  'api',
  'webhooks',
  'queue',
  'deadLetters',
  'worker',
  'schedules',
  'secrets',
  'database',
  'n8n',
  'alerts',
  'dashboards',
  'blueGreen',
  'eventBus',
] as const;
export type Capability = (typeof CAPABILITIES)[number];
