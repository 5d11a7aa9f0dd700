import { cronExpression, rateExpression, triggerMessage } from '../../constructs/shared/schedule';
import { INTEGRATIONS } from '@data-sync/config';
import { parseJobMessage } from '@data-sync/config/job-message';

test('every cron-based scheduler gets one cron form of a sync interval', () => {
  const intervals = ['1m', '15m', '30m', '1h', '6h', '1d', '2d'];
  const crons = ['* * * * *', '*/15 * * * *', '*/30 * * * *', '0 * * * *', '0 */6 * * *', '0 0 * * *', '0 0 */2 * *'];
  expect(intervals.map(cronExpression)).toEqual(crons);
});

test('an interval cron cannot repeat evenly is refused, naming the value', () => {
  expect(() => cronExpression('45m')).toThrow('sync_interval "45m" cannot be expressed as a cron schedule');
  expect(() => cronExpression('7m')).toThrow('sync_interval "7m"');
  expect(() => cronExpression('5h')).toThrow('sync_interval "5h"');
  expect(() => cronExpression('30d')).toThrow('sync_interval "30d"');
});

test('EventBridge gets rate expressions in the largest whole unit', () => {
  const intervals = ['15m', '1h', '90m', '2h', '1d', '2d'];
  const rates = [
    'rate(15 minutes)',
    'rate(1 hour)',
    'rate(90 minutes)',
    'rate(2 hours)',
    'rate(1 day)',
    'rate(2 days)',
  ];
  expect(intervals.map(rateExpression)).toEqual(rates);
});

test('the message a schedule sends is a valid job message naming the integration', () => {
  const message = JSON.parse(triggerMessage(INTEGRATIONS[0]));
  expect(parseJobMessage(message)).toMatchObject({ kind: 'sync', integration: INTEGRATIONS[0].name });
});
