/**
 * Google ID tokens for calling a Cloud Run service that admits only its invokers (n8n's main in staging
 * and prod): google-auth-library's ID-token client for the service's URL as audience, signed for the
 * instance's service account (the metadata server) or whatever Application Default Credentials name.
 */
import { GoogleAuth } from 'google-auth-library';
import type { N8nAuth } from '../n8n-client';

/** What this needs of GoogleAuth: an ID-token client for an audience, whose request headers carry the token. */
export interface IdTokenSource {
  getIdTokenClient(audience: string): Promise<{ getRequestHeaders(): Promise<Headers> }>;
}

/**
 * The Authorization header for `url`'s origin (Cloud Run's audience is the service URL). The library
 * caches the token and fetches a new one shortly before it expires. A plain-HTTP URL (a local n8n) gets
 * no token: Cloud Run is HTTPS only, and a bearer token sent in clear could be read on the way.
 */
export function googleIdTokenAuth(url: string, source: IdTokenSource = new GoogleAuth()): N8nAuth {
  const target = new URL(url);
  if (target.protocol !== 'https:') return async () => ({});
  let client: ReturnType<IdTokenSource['getIdTokenClient']> | undefined;
  return async () => {
    try {
      client ??= source.getIdTokenClient(target.origin);
      const authorization = (await (await client).getRequestHeaders()).get('authorization');
      if (!authorization) throw new Error('the credentials gave no Authorization header');
      return { authorization };
    } catch (error) {
      // The next call asks again: the metadata server may only have been slow.
      client = undefined;
      throw new Error(`no Google ID token for ${target.origin}: ${(error as Error).message}`, { cause: error });
    }
  };
}
