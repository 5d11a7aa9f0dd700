/**
 * An IBM Cloud IAM access token for an API key (`POST /identity/token`, grant type
 * `urn:ibm:params:oauth:grant-type:apikey`), kept until 80% of its lifetime has passed, as IBM's SDKs
 * do, so a publish rarely waits for IAM and never sends a token about to expire.
 */

export interface IbmIamTokenOptions {
  /** The service ID's API key. */
  readonly apiKey: string;
  /** IAM's base URL. @default https://iam.cloud.ibm.com (DATA_SYNC_IBM_IAM_URL) */
  readonly iamUrl?: string;
  /** Per request. @default 10000 ms */
  readonly timeoutMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

export const IBM_IAM_URL = 'https://iam.cloud.ibm.com';

/** A function that resolves a valid bearer token, asking IAM only when the one it holds is due. */
export function ibmIamToken(options: IbmIamTokenOptions): () => Promise<string> {
  const now = options.now ?? Date.now;
  const url = `${(options.iamUrl ?? IBM_IAM_URL).replace(/\/+$/, '')}/identity/token`;
  let held: { token: string; renewAt: number } | null = null;
  let pending: Promise<string> | null = null;

  async function request(): Promise<string> {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'urn:ibm:params:oauth:grant-type:apikey', apikey: options.apiKey }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    const body = (await response.json().catch(() => ({}))) as {
      access_token?: unknown;
      expires_in?: unknown;
      errorMessage?: string;
    };
    // The answer never echoes the key; IAM's errorMessage says why it refused (e.g. the key was deleted).
    if (!response.ok || typeof body.access_token !== 'string' || typeof body.expires_in !== 'number')
      throw new Error(`IBM Cloud IAM answered ${response.status}: ${body.errorMessage ?? 'no access token'}`);
    held = { token: body.access_token, renewAt: now() + body.expires_in * 800 };
    return body.access_token;
  }

  return () => {
    if (held && now() < held.renewAt) return Promise.resolve(held.token);
    pending ??= request().finally(() => {
      pending = null;
    });
    return pending;
  };
}
