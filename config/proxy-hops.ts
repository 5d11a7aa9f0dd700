/**
 * How many proxies in front of each cloud's runtime API append to X-Forwarded-For: the stacks set it as
 * DATA_SYNC_TRUST_PROXY, so the client address is the one the first proxy saw, never one the client sent.
 * Where a platform's chain is not documented hop by hop the count is the smallest it can be: one hop too
 * few yields a proxy's own address (allowlists refuse it: fails closed), one too many a spoofable one.
 */
import type { Cloud } from './context';

export const PROXY_HOPS: Readonly<Record<Exclude<Cloud, 'cloudflare'>, number>> = {
  // CloudFront appends the viewer's address, the internal ALB behind its VPC origin appends CloudFront's.
  aws: 2,
  // Google's front end appends the client's address before Cloud Run hands the request to the container.
  gcp: 1,
  // The Container Apps ingress (Envoy) appends the client's address.
  azure: 1,
  // The API gateway appends the client's address, the private load balancer behind it the gateway's.
  oci: 2,
  // Code Engine (Knative): the ingress gateway appends the client's, the queue-proxy beside the app its peer's
  // (the gateway, or the activator when it is in the path, which then yields the gateway's address).
  ibm: 2,
};
