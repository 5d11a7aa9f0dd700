import { tarGz } from '@data-sync/vendor-fakes/mailchimp/tar';
import { readBatchResults } from './batch-results';

test('reads every operation result from the gzipped tar, across files, skipping directories', () => {
  const archive = tarGz('b123', [
    { name: 'one.json', content: JSON.stringify([{ status_code: 200, operation_id: '0', response: '{}' }]) },
    {
      name: 'two.json',
      content: JSON.stringify([
        { status_code: 400, operation_id: '1', response: '{"detail":"bad"}' },
        { status_code: 200, operation_id: '2', response: '{}' },
      ]),
    },
  ]);
  expect(readBatchResults(archive).map((r) => [r.operation_id, r.status_code])).toEqual([
    ['0', 200],
    ['1', 400],
    ['2', 200],
  ]);
});

test('a result file that is not an array is an error, not silently ignored', () => {
  expect(() => readBatchResults(tarGz('b', [{ name: 'x.json', content: '{"status_code":200}' }]))).toThrow(
    /not an array/,
  );
});
