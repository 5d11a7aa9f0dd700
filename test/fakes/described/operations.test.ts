/** The request check the fakes run against the vendors' described operations refuses what the descriptions do not allow. */
import type { FakeRequest } from '@data-sync/integrations/contract/fake-kit';
import ga4 from '../ga4/operations.json';
import mixpanel from '../mixpanel/operations.json';
import { checkRequest, type Description } from './operations';

const GA4 = ga4 as unknown as Description;
const MIXPANEL = mixpanel as unknown as Description;

function request(method: string, url: string, body?: unknown, contentType = 'application/json'): FakeRequest {
  return {
    method,
    url: new URL(url, 'http://fake.local'),
    headers: body === undefined ? {} : { 'content-type': contentType },
    body: body === undefined ? Buffer.alloc(0) : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  };
}

const report = {
  dateRanges: [{ startDate: '2026-03-01', endDate: 'today' }],
  dimensions: [{ name: 'date' }],
  metrics: [{ name: 'activeUsers' }],
  orderBys: [{ dimension: { dimensionName: 'date' }, desc: false }],
  limit: '100',
  offset: '0',
  returnPropertyQuota: true,
};

describe('Data API requests against the GA4 discovery document', () => {
  test('a runReport as the connector sends it conforms', () => {
    expect(checkRequest(GA4, request('POST', '/v1beta/properties/123:runReport', report))).toEqual([]);
  });

  test('an undeclared member, a wrong type or an unknown enum value is a problem, with its JSON path', () => {
    const problems = checkRequest(
      GA4,
      request('POST', '/v1beta/properties/123:runReport', {
        ...report,
        pageSize: 10,
        keepEmptyRows: 'yes',
        metricAggregations: ['AVERAGE'],
      }),
    );
    expect(problems).toEqual([
      expect.stringContaining('body.pageSize: not a member the description declares'),
      expect.stringContaining('body.keepEmptyRows: string where the description has boolean'),
      expect.stringContaining('body.metricAggregations[0]: "AVERAGE" is not one of'),
    ]);
  });

  test('an unknown method or query parameter is a problem; system parameters are not', () => {
    expect(checkRequest(GA4, request('POST', '/v1beta/properties/123:runReports', report))).toEqual([
      'POST /v1beta/properties/123:runReports: not an operation of the description',
    ]);
    expect(checkRequest(GA4, request('POST', '/v1beta/properties/123:runReport?alt=json', report))).toEqual([]);
    expect(checkRequest(GA4, request('POST', '/v1beta/properties/123:runReport?limit=5', report))).toEqual([
      expect.stringContaining('query parameter limit is not declared'),
    ]);
  });
});

describe('Mixpanel requests against its OpenAPI descriptions', () => {
  test('the legacy Engage query path and a trailing slash on data deletions are not described operations', () => {
    expect(
      checkRequest(
        MIXPANEL,
        request('POST', '/api/2.0/engage?project_id=1', 'where=x', 'application/x-www-form-urlencoded'),
      ),
    ).toEqual(['POST /api/2.0/engage: not an operation of the description']);
    expect(
      checkRequest(
        MIXPANEL,
        request('POST', '/api/query/engage?project_id=1', 'where=x', 'application/x-www-form-urlencoded'),
      ),
    ).toEqual([]);
    const deletion = { distinct_ids: ['a'], compliance_type: 'GDPR' };
    expect(checkRequest(MIXPANEL, request('POST', '/api/app/data-deletions/v3.0/?token=t', deletion))).toHaveLength(1);
    expect(checkRequest(MIXPANEL, request('POST', '/api/app/data-deletions/v3.0?token=t', deletion))).toEqual([]);
  });

  test('required and bounded query parameters are checked', () => {
    const event = [{ event: 'e', properties: { time: 1, distinct_id: 'd', $insert_id: 'i' } }];
    expect(checkRequest(MIXPANEL, request('POST', '/import?project_id=1', event))).toEqual([
      'POST /import: required query parameter strict is missing',
    ]);
    expect(checkRequest(MIXPANEL, request('POST', '/import?strict=true&project_id=1', event))).toEqual([
      expect.stringContaining('strict: "true" is not one of 0, 1'),
    ]);
    expect(
      checkRequest(MIXPANEL, request('POST', '/engage?verbose=2', [{ $token: 't', $distinct_id: 'd', $set: {} }])),
    ).toEqual(['POST /engage: verbose: 2 > maximum 1']);
  });

  test('a body is checked against the schema unless the vendor answers per record', () => {
    const bad = [{ event: 'e', properties: { time: 'now', distinct_id: 'd' } }];
    const url = '/import?strict=1&project_id=1';
    expect(checkRequest(MIXPANEL, request('POST', url, bad))).toEqual([
      expect.stringContaining('body[0].properties.$insert_id: required by the description, missing'),
      expect.stringContaining('body[0].properties.time: string where the description has integer'),
    ]);
    expect(checkRequest(MIXPANEL, request('POST', url, bad), { body: false })).toEqual([]);
    expect(checkRequest(MIXPANEL, request('POST', url, bad, 'text/plain'), { body: false })).toEqual([
      expect.stringContaining('a text/plain body where the description takes application/json'),
    ]);
  });
});
