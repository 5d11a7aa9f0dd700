/**
 * What the Pub/Sub push route needs of a token verifier, apart from Google's library (security/
 * google-oidc.ts), so only the bundle that takes pushes carries that library.
 */
/** A rejected token: 401 when it proves nothing, 403 when it is valid but not the push identity's. */
export class OidcRejected extends Error {
  constructor(
    readonly status: 401 | 403,
    message: string,
  ) {
    super(message);
    this.name = 'OidcRejected';
  }
}

export interface GoogleOidcVerifier {
  readonly audience: string;
  readonly serviceAccount: string;
  /** Verifies an Authorization header value; resolves with the token's email, throws OidcRejected. */
  verify(authorization: string | undefined): Promise<{ email: string }>;
}
