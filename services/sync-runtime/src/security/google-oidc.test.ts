import { createSign, generateKeyPairSync, KeyObject } from 'crypto';
import { bearerJwt, createGoogleOidcVerifier } from './google-oidc';
import { OidcRejected } from './oidc-verifier';

const AUDIENCE = 'https://runtime.example.run.app/pubsub/push';
const PUSHER = 'ds-test-push@project.iam.gserviceaccount.com';

const keyPair = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const google = keyPair();
const stranger = keyPair();
const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();
const certs = async () => ({ 'google-kid': pem(google.publicKey) });

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token as Google signs it for a push subscription; `claims` and `header` override the defaults. */
function idToken(
  claims: Record<string, unknown> = {},
  opts: { key?: KeyObject; header?: Record<string, unknown> } = {},
): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'RS256', typ: 'JWT', kid: 'google-kid', ...opts.header };
  const payload = {
    iss: 'https://accounts.google.com',
    aud: AUDIENCE,
    sub: '1234567890',
    email: PUSHER,
    email_verified: true,
    iat: now - 10,
    exp: now + 3590,
    ...claims,
  };
  const signed = `${b64url(header)}.${b64url(payload)}`;
  const signature = createSign('RSA-SHA256')
    .update(signed)
    .sign(opts.key ?? google.privateKey)
    .toString('base64url');
  return `${signed}.${signature}`;
}

const verifier = createGoogleOidcVerifier({ audience: AUDIENCE, serviceAccount: PUSHER, certs });

async function rejection(header: string | undefined): Promise<OidcRejected> {
  const error = await verifier.verify(header).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OidcRejected);
  return error as OidcRejected;
}

describe('Google OIDC verification of push tokens', () => {
  test('accepts a Google-signed token for the audience from the push service account', async () => {
    await expect(verifier.verify(`Bearer ${idToken()}`)).resolves.toEqual({ email: PUSHER });
    await expect(
      verifier.verify(`bearer ${idToken({ iss: 'accounts.google.com', email: PUSHER.toUpperCase() })}`),
    ).resolves.toEqual({ email: PUSHER.toUpperCase() });
  });

  test.each<[string, () => string | undefined, 401 | 403, RegExp]>([
    ['no header', () => undefined, 401, /missing token/],
    ['an API token instead of a JWT', () => 'Bearer dsk_abcdef', 401, /does not carry a Google ID token/],
    ['another scheme', () => `Basic ${idToken()}`, 401, /does not carry/],
    [
      'another audience',
      () => `Bearer ${idToken({ aud: 'https://elsewhere.run.app/pubsub/push' })}`,
      401,
      /another audience/,
    ],
    [
      "a key that is not Google's, under Google's key id",
      () => `Bearer ${idToken({}, { key: stranger.privateKey })}`,
      401,
      /not signed by a current Google key/,
    ],
    [
      'an unknown key id',
      () => `Bearer ${idToken({}, { header: { kid: 'other' } })}`,
      401,
      /not signed by a current Google key/,
    ],
    [
      'an unsigned token (alg none)',
      () => `Bearer ${idToken({}, { header: { alg: 'none' } }).replace(/\.[^.]+$/, '.AAAA')}`,
      401,
      /not signed by a current Google key/,
    ],
    [
      'an expired token',
      () =>
        `Bearer ${idToken({ iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 })}`,
      401,
      /expired/,
    ],
    ['another issuer', () => `Bearer ${idToken({ iss: 'https://evil.example' })}`, 401, /not issued by Google/],
    ['a garbled payload', () => `Bearer ${idToken().split('.')[0]}.bm90LWpzb24.AAAA`, 401, /could not be read/],
    [
      'another account of the same audience',
      () => `Bearer ${idToken({ email: 'someone@gmail.com' })}`,
      403,
      /someone@gmail\.com, not the push service account/,
    ],
    ['no email', () => `Bearer ${idToken({ email: undefined })}`, 403, /no email/],
    ['an unverified email', () => `Bearer ${idToken({ email_verified: false })}`, 403, /not verified/],
  ])('rejects %s', async (_name, header, status, message) => {
    const value = header();
    const error = await rejection(value);
    expect(error.status).toBe(status);
    expect(error.message).toMatch(message);
    // The library's own messages quote the token; ours must not.
    const jwt = value?.split(' ')[1];
    if (jwt && jwt.length > 20) expect(error.message).not.toContain(jwt.split('.')[1]);
  });

  test("Google's keys being unreachable is not the token's fault: the error passes through", async () => {
    const offline = createGoogleOidcVerifier({
      audience: AUDIENCE,
      serviceAccount: PUSHER,
      certs: async () => Promise.reject(new Error('getaddrinfo ENOTFOUND www.googleapis.com')),
    });
    await expect(offline.verify(`Bearer ${idToken()}`)).rejects.toThrow(/ENOTFOUND/);
  });

  test('needs both an audience and a service account', () => {
    expect(() => createGoogleOidcVerifier({ audience: '', serviceAccount: PUSHER, certs })).toThrow(/audience/);
    expect(() => createGoogleOidcVerifier({ audience: AUDIENCE, serviceAccount: '', certs })).toThrow(
      /service account/,
    );
  });

  test('bearerJwt finds only JWT-shaped bearer tokens', () => {
    expect(bearerJwt('Bearer a.b.c')).toBe('a.b.c');
    expect(bearerJwt('Bearer a.b')).toBeNull();
    expect(bearerJwt('Bearer a.b.c.d')).toBeNull();
    expect(bearerJwt(undefined)).toBeNull();
  });
});
