/**
 * The GDPR/CCPA webhooks' signature: HMAC-SHA256 over the method, the path, a timestamp, a nonce and the raw
 * body, each endpoint with a secret of its own. A signature for one endpoint is refused by the other (the path
 * and the key differ), an old one is refused outside the skew window, and a replayed one within it by its nonce
 * (the caller records nonces: compliance-nonces.ts).
 */
import { createHmac, timingSafeEqual } from 'crypto';

export const SIGNATURE_HEADER = 'x-data-sync-signature';
export const TIMESTAMP_HEADER = 'x-data-sync-timestamp';
export const NONCE_HEADER = 'x-data-sync-nonce';
/** How far a timestamp may be from the receiver's clock, either way. */
export const SKEW_SECONDS = 300;
const NONCE = /^[A-Za-z0-9_-]{16,128}$/;

export interface SignedRequest {
  readonly method: string;
  /** The request path, without the query string. */
  readonly path: string;
  /** Unix seconds. */
  readonly timestamp: number;
  readonly nonce: string;
  readonly body: string | Buffer;
}

/** Hex HMAC-SHA256 of `METHOD\npath\ntimestamp\nnonce\n` followed by the raw body. */
export function signCompliance(secret: string, request: SignedRequest): string {
  return createHmac('sha256', secret)
    .update(`${request.method.toUpperCase()}\n${request.path}\n${request.timestamp}\n${request.nonce}\n`)
    .update(request.body)
    .digest('hex');
}

/** The headers a sender sets (the timestamp and a fresh nonce given). */
export function complianceHeaders(secret: string, request: SignedRequest): Record<string, string> {
  return {
    [SIGNATURE_HEADER]: signCompliance(secret, request),
    [TIMESTAMP_HEADER]: String(request.timestamp),
    [NONCE_HEADER]: request.nonce,
  };
}

/**
 * Why the headers do not sign the request with `secret` at `nowMs` (undefined: they do). The nonce is
 * checked for shape only; that it was not seen before is the caller's check, after this one passes.
 */
export function complianceSignatureProblem(
  secret: string,
  request: Omit<SignedRequest, 'timestamp' | 'nonce'>,
  headers: { signature?: string; timestamp?: string; nonce?: string },
  nowMs: number,
): string | undefined {
  const { signature, timestamp, nonce } = headers;
  if (!timestamp || !/^\d{1,12}$/.test(timestamp)) return `missing or malformed ${TIMESTAMP_HEADER} (unix seconds)`;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > SKEW_SECONDS)
    return `${TIMESTAMP_HEADER} is more than ${SKEW_SECONDS} s from this server's clock`;
  if (!nonce || !NONCE.test(nonce)) return `missing or malformed ${NONCE_HEADER} (16-128 of A-Z a-z 0-9 _ -)`;
  if (!signature || !/^[0-9a-fA-F]{64}$/.test(signature)) return `missing or malformed ${SIGNATURE_HEADER}`;
  const expected = Buffer.from(signCompliance(secret, { ...request, timestamp: Number(timestamp), nonce }), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex')))
    return `${SIGNATURE_HEADER} is not the HMAC-SHA256 of the method, path, timestamp, nonce and body with this endpoint's secret`;
  return undefined;
}
