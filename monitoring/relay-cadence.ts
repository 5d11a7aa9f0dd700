/** What the metrics relays (OCI's PostMetricData, remote write) share: reading a /metrics page, and their cadence. */

/** The Prometheus text of `url`; throws when it does not answer 200 within 10 s. */
export async function scrapeMetrics(url: string): Promise<string> {
  const scraped = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!scraped.ok) throw new Error(`${url} answered ${scraped.status}`);
  return scraped.text();
}

/**
 * Runs `round` now and then every `intervalSeconds`, on a fixed cadence from the start (no drift that would
 * leave an alarm's minute without a point); the next round waits for this one, so a slow side skips a beat
 * rather than stacking rounds. `round` must not throw.
 */
export function everyInterval(intervalSeconds: number, round: () => Promise<void>): void {
  const interval = intervalSeconds * 1000;
  const started = Date.now();
  const next = async (): Promise<void> => {
    await round();
    setTimeout(() => void next(), interval - ((Date.now() - started) % interval));
  };
  void next();
}
