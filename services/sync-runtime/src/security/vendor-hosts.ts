/**
 * Where an integration may send its credentials: the hosts of its own vendor (the catalog's `vendorHosts`),
 * over https. Without this an admin token (or a stolen one) could point a baseUrl at the cloud's metadata
 * endpoint or a loopback service and read the answer through the connection test, or at a host of their own
 * and collect the vendor's credential. The local-vendor override (DATA_SYNC_ALLOW_LOCAL_VENDORS, for the fakes
 * of tests and the demo) adds loopback and private addresses, over http too; link-local and other reserved
 * ranges (169.254.169.254 is every cloud's metadata service) are refused even then. Free of Node-only
 * modules: the API routes and the Worker share it; the connect-time check is vendor-fetch.ts.
 */
import ipaddr from 'ipaddr.js';
import { findIntegration } from '@data-sync/config/integrations';

/** How an address is treated: vendors live on public ones; the override adds local ones; the rest never. */
export type AddressClass = 'public' | 'local' | 'forbidden';

const LOCAL_RANGES = new Set(['loopback', 'private', 'uniqueLocal']);

/** The class of an IP address (IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry). */
export function addressClass(address: string): AddressClass {
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress())
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  const range = parsed.range();
  if (range === 'unicast') return 'public';
  return LOCAL_RANGES.has(range) ? 'local' : 'forbidden';
}

/** Whether `hostname` is one of `patterns` (`*.example.com` matches any subdomain of example.com, not itself). */
export function hostMatches(hostname: string, patterns: readonly string[]): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return patterns.some((pattern) =>
    pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1 : host === pattern,
  );
}

/** The hosts `system` may reach: its catalog entry's (none for a system outside the catalog). */
export const vendorHostsOf = (system: string): readonly string[] => findIntegration(system)?.vendorHosts ?? [];

const bareHost = (url: URL) => url.hostname.replace(/^\[|\]$/g, '');

/**
 * Why `system` may not call `url` (undefined: it may), judged on the URL alone; names resolved by DNS are
 * checked again when the connection is made (vendor-fetch.ts).
 */
export function vendorUrlProblem(system: string, url: URL, allowLocal: boolean): string | undefined {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `${url.protocol} is not an http(s) URL`;
  const host = bareHost(url);
  if (ipaddr.isValid(host)) {
    const kind = addressClass(host);
    if (kind === 'forbidden') return `${host} is a link-local or reserved address`;
    if (kind === 'local')
      return allowLocal ? undefined : `${host} is a loopback or private address (allowed only for local fakes)`;
  }
  const hosts = vendorHostsOf(system);
  if (hostMatches(host, hosts)) return url.protocol === 'https:' ? undefined : `${system} is reached over https only`;
  if (allowLocal && host.toLowerCase() === 'localhost') return undefined;
  return `${host} is not a ${system} host (${hosts.join(', ') || 'none in the catalog'})`;
}

/** A config URL a system may not call, with its JSON pointer in the config. */
export class VendorUrlError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`config ${path} may not be used: ${reason}`);
    this.name = 'VendorUrlError';
  }
}

/**
 * The config's URLs the connector calls: every string under a key ending in `url` (baseUrl, tokenUrl,
 * accountsUrl, ...), except Meta's deletionStatusUrl, a page of this deployment that Meta shows users.
 */
function calledUrls(config: unknown, path = ''): { path: string; value: string }[] {
  if (Array.isArray(config)) return config.flatMap((item, i) => calledUrls(item, `${path}/${i}`));
  if (config === null || typeof config !== 'object') return [];
  return Object.entries(config).flatMap(([key, value]) =>
    typeof value === 'string'
      ? /url$/i.test(key) && key !== 'deletionStatusUrl'
        ? [{ path: `${path}/${key}`, value }]
        : []
      : calledUrls(value, `${path}/${key}`),
  );
}

/** Throws VendorUrlError for the first URL of a (resolved) config that `system` may not call. */
export function checkVendorUrls(system: string, config: unknown, allowLocal: boolean): void {
  for (const { path, value } of calledUrls(config)) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      continue; // not a URL: the connector's schema says so with its own message
    }
    const problem = vendorUrlProblem(system, url, allowLocal);
    if (problem) throw new VendorUrlError(path, problem);
  }
}

/** Whether any URL the connector calls differs between two configs (then its secrets must be given again). */
export function calledUrlsChanged(previous: unknown, next: unknown): boolean {
  const key = (config: unknown) =>
    JSON.stringify(
      calledUrls(config)
        .map(({ path, value }) => `${path}=${value}`)
        .sort(),
    );
  return key(previous) !== key(next);
}

/** Whether a config calls a loopback or private address (what the audit log records when the override is used). */
export function usesLocalVendor(config: unknown): boolean {
  return calledUrls(config).some(({ value }) => {
    try {
      const host = bareHost(new URL(value));
      return host.toLowerCase() === 'localhost' || (ipaddr.isValid(host) && addressClass(host) === 'local');
    } catch {
      return false;
    }
  });
}
