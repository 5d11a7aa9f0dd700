/**
 * Verification of the Google-signed OIDC tokens Pub/Sub push subscriptions send
 * (`Authorization: Bearer <jwt>`): Google's signature, issuer, expiry, the configured audience, and
 * the configured service account as the verified `email`.
 */
import { OAuth2Client } from 'google-auth-library';
import { type GoogleOidcVerifier, OidcRejected } from './oidc-verifier';

/** The issuers Google writes into its ID tokens. */
export const GOOGLE_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'];

export interface GoogleOidcOptions {
  /** The `aud` the push subscription sets (its push endpoint URL). */
  readonly audience: string;
  /**
   * The push identity's email. Required: anyone with a Google account can get a Google-signed token
   * for any audience, so the audience alone does not say who sent it.
   */
  readonly serviceAccount: string;
  /** PEM certificates by key id; default Google's current ones (fetched and cached per their Cache-Control). */
  readonly certs?: () => Promise<Record<string, string>>;
  readonly client?: OAuth2Client;
}

const JWT = /^Bearer\s+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)\s*$/i;

/** Whether an Authorization header carries something shaped like a JWT (three base64url segments). */
export function bearerJwt(authorization: string | undefined): string | null {
  const match = authorization ? JWT.exec(authorization) : null;
  return match ? match[1] : null;
}

/**
 * The library's messages quote the whole token or its payload, which must not reach logs or the
 * client: each known failure gets a message of its own.
 */
function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (message.startsWith('Wrong recipient')) return 'the token was issued for another audience';
  if (message.startsWith('Token used too late')) return 'the token has expired';
  if (message.startsWith('Token used too early')) return 'the token is not valid yet';
  if (message.startsWith('Invalid issuer')) return 'the token was not issued by Google';
  if (message.startsWith('Invalid token signature') || message.startsWith('No pem found'))
    return 'the token is not signed by a current Google key';
  if (message.startsWith('Expiration time too far')) return 'the token lives longer than Google tokens do';
  return 'the token could not be read as a Google ID token';
}

export function createGoogleOidcVerifier(options: GoogleOidcOptions): GoogleOidcVerifier {
  if (!options.audience) throw new Error('a Google OIDC verifier needs an audience');
  if (!options.serviceAccount)
    throw new Error('a Google OIDC verifier needs the service account whose tokens it accepts');
  const client = options.client ?? new OAuth2Client();
  const certs =
    options.certs ?? (async () => (await client.getFederatedSignonCertsAsync()).certs as Record<string, string>);
  const expected = options.serviceAccount.toLowerCase();
  return {
    audience: options.audience,
    serviceAccount: options.serviceAccount,
    async verify(authorization) {
      if (!authorization)
        throw new OidcRejected(401, 'missing token: Pub/Sub push sends "Authorization: Bearer <Google ID token>"');
      const jwt = bearerJwt(authorization);
      if (!jwt) throw new OidcRejected(401, 'the Authorization header does not carry a Google ID token (a JWT)');
      // Outside the try: Google's keys being unreachable is our failure (a 5xx, so Pub/Sub retries), not the token's.
      const keys = await certs();
      let payload;
      try {
        const ticket = await client.verifySignedJwtWithCertsAsync(jwt, keys, options.audience, GOOGLE_ISSUERS);
        payload = ticket.getPayload();
      } catch (error) {
        throw new OidcRejected(401, reason(error));
      }
      const email = payload?.email;
      if (!email || email.toLowerCase() !== expected)
        throw new OidcRejected(
          403,
          `the token belongs to ${email ?? 'no email'}, not the push service account ${options.serviceAccount}`,
        );
      if (payload?.email_verified !== true) throw new OidcRejected(403, `the token's email ${email} is not verified`);
      return { email };
    },
  };
}
