/**
 * Organization Page statistics of LinkedIn as the `metrics` object (Community Management API):
 * - daily follower gains (`/rest/organizationalEntityFollowerStatistics` with `timeIntervals` of DAY
 *   granularity: `followerGains.organicFollowerGain` / `paidFollowerGain`);
 * - daily share statistics (`/rest/organizationalEntityShareStatistics`, `totalShareStatistics`);
 * - the follower count now (`/rest/networkSizes/{urn}?edgeType=COMPANY_FOLLOWED_BY_MEMBER`).
 * Time ranges are epoch milliseconds, the start inclusive and the end exclusive.
 */
import { utcDay, addDays } from '../../analytics/shared/time';
import type { VendorHttp } from '../../http/vendor-http';
import type { InsightsWindow } from '../insights';

interface TimeBound<T> {
  elements?: ({ timeRange?: { start?: number; end?: number } } & T)[];
}

export async function readLinkedinInsights(
  http: VendorHttp,
  organizationId: string,
  window: InsightsWindow,
): Promise<void> {
  const urn = encodeURIComponent(`urn:li:organization:${organizationId}`);
  const dims = { organization_id: organizationId };
  // Rest.li 2.0: the structure stays literal, as LinkedIn parses it; only the URN is encoded.
  const range = `timeIntervals=(timeRange:(start:${Date.parse(`${window.start}T00:00:00Z`)},end:${Date.parse(`${addDays(window.today, 1)}T00:00:00Z`)}),timeGranularityType:DAY)`;
  const query = `q=organizationalEntity&organizationalEntity=${urn}&${range}`;
  const followers = await http.json<TimeBound<{ followerGains?: Record<string, unknown> }>>({
    path: `/rest/organizationalEntityFollowerStatistics?${query}`,
  });
  for (const element of followers.elements ?? [])
    if (element.timeRange?.start !== undefined)
      window.add(utcDay(element.timeRange.start), dims, {
        organic_follower_gain: element.followerGains?.organicFollowerGain,
        paid_follower_gain: element.followerGains?.paidFollowerGain,
      });
  const shares = await http.json<TimeBound<{ totalShareStatistics?: Record<string, unknown> }>>({
    path: `/rest/organizationalEntityShareStatistics?${query}`,
  });
  for (const element of shares.elements ?? [])
    if (element.timeRange?.start !== undefined)
      window.add(utcDay(element.timeRange.start), dims, element.totalShareStatistics ?? {});
  const size = await http.json<{ firstDegreeSize?: number }>({
    path: `/rest/networkSizes/${urn}?edgeType=COMPANY_FOLLOWED_BY_MEMBER`,
  });
  window.add(window.today, dims, { follower_count: size.firstDegreeSize });
}
