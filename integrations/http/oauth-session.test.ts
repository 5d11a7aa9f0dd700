import { IntegrationError } from '../connector';
import { GrantRevoked, MemoryTokenStore, OAuthSession, type Grant } from './oauth-session';

function session(options: { now: () => number; grants: Grant[]; store?: MemoryTokenStore; refused?: boolean }) {
  const presented: string[] = [];
  const s = new OAuthSession({
    integration: 'acme',
    key: 'acme:grant',
    initialRefreshToken: 'r0',
    store: options.store ?? new MemoryTokenStore(),
    refreshAheadMs: 60_000,
    now: options.now,
    refresh: async (token) => {
      presented.push(token);
      if (options.refused) throw new GrantRevoked('invalid_grant: The refresh token is invalid or expired.');
      const grant = options.grants.shift();
      if (!grant) throw new Error('no more grants scripted');
      return grant;
    },
  });
  return { s, presented };
}

test('concurrent callers share one refresh; the rotated refresh token is presented next time', async () => {
  let now = 0;
  const { s, presented } = session({
    now: () => now,
    grants: [
      { accessToken: 'a1', refreshToken: 'r1', expiresInMs: 3_600_000 },
      { accessToken: 'a2', refreshToken: 'r2', expiresInMs: 3_600_000 },
    ],
  });
  expect(await Promise.all([s.accessToken(), s.accessToken(), s.accessToken()])).toEqual(['a1', 'a1', 'a1']);
  now = 3_600_000;
  expect(await s.accessToken()).toBe('a2');
  expect(presented).toEqual(['r0', 'r1']);
});

test('refreshes ahead of expiry, not after a failed call', async () => {
  let now = 0;
  const { s, presented } = session({
    now: () => now,
    grants: [
      { accessToken: 'a1', expiresInMs: 600_000 },
      { accessToken: 'a2', expiresInMs: 600_000 },
    ],
  });
  await s.accessToken();
  now = 600_000 - 59_000;
  expect(await s.accessToken()).toBe('a2');
  // Without a rotated token the original keeps being presented.
  expect(presented).toEqual(['r0', 'r0']);
});

test('a second instance on the same store uses the stored token instead of refreshing', async () => {
  const store = new MemoryTokenStore();
  const first = session({
    now: () => 0,
    grants: [{ accessToken: 'a1', refreshToken: 'r1', expiresInMs: 3_600_000 }],
    store,
  });
  await first.s.accessToken();
  const second = session({ now: () => 0, grants: [], store });
  expect(await second.s.accessToken()).toBe('a1');
  expect(second.presented).toEqual([]);
});

test("a rejected access token is replaced once, by another instance's newer one when there is one", async () => {
  const store = new MemoryTokenStore();
  const a = session({
    now: () => 0,
    grants: [
      { accessToken: 'a1', refreshToken: 'r1', expiresInMs: 3_600_000 },
      { accessToken: 'a2', refreshToken: 'r2', expiresInMs: 3_600_000 },
    ],
    store,
  });
  const b = session({ now: () => 0, grants: [], store });
  await a.s.accessToken();
  expect(await b.s.accessToken()).toBe('a1');
  await a.s.rejected('a1');
  expect(await a.s.accessToken()).toBe('a2');
  await b.s.rejected('a1');
  expect(await b.s.accessToken()).toBe('a2');
  expect([...a.presented, ...b.presented]).toEqual(['r0', 'r1']);
});

test('a refused refresh token is an auth IntegrationError saying to reauthorize', async () => {
  const { s } = session({ now: () => 0, grants: [], refused: true });
  const error = await s.accessToken().catch((e) => e);
  expect(error).toBeInstanceOf(IntegrationError);
  expect(error).toMatchObject({ kind: 'auth', message: expect.stringMatching(/invalid_grant.*reauthorize/) });
});
