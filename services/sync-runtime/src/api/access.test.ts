import { ROLES, Role, roleAllows } from '../security/tokens';
import { bearer, createHarness, Harness } from './testing/harness';

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ worker: true });
});
afterAll(async () => h.close());

/** A path for a route pattern: every parameter filled with a value its schema accepts. */
const concrete = (url: string) => url.replace(/:[A-Za-z]+/g, 'x1').replace(/\*$/, 'index.html');

/** A stream (SSE) never ends: its status is read from the headers, then the connection is dropped. */
async function streamStatus(url: string, headers: Record<string, string>) {
  const aborter = new AbortController();
  const res = await fetch(h.url + url, { headers, signal: aborter.signal });
  aborter.abort();
  return { statusCode: res.status };
}

type Caller = { name: string; headers: Record<string, string>; role: Role | null };

test('every registered route answers 401 without or with a bad token and 403 below its role; at or above it gets through', async () => {
  const routes = h.app.routeAccess.filter((r) => r.method !== 'HEAD');
  // Derived from Fastify's own registrations: a new route is covered without touching this test.
  expect(routes.length).toBeGreaterThanOrEqual(30);
  const callers: Caller[] = [
    { name: 'no token', headers: {}, role: null },
    { name: 'bad token', headers: bearer('dst_not-a-real-token'), role: null },
    ...ROLES.map((role) => ({ name: role, headers: bearer(h.auth[role]), role })),
  ];
  const problems: string[] = [];
  for (const route of routes) {
    for (const caller of callers) {
      const res = route.url.endsWith('/stream')
        ? await streamStatus(concrete(route.url), caller.headers)
        : await h.inject({
            method: route.method,
            url: concrete(route.url),
            headers: caller.headers,
            payload: ['POST', 'PUT', 'PATCH'].includes(route.method) ? {} : undefined,
          });
      const where = `${route.method} ${route.url} as ${caller.name} (needs ${route.access}): got ${res.statusCode}`;
      if (res.statusCode >= 500 && !(route.url.startsWith('/api/workflows') && res.statusCode === 503))
        problems.push(`${where} (server error)`);
      if (route.access === 'public') {
        if (res.statusCode === 401 || res.statusCode === 403) problems.push(where);
      } else if (caller.role === null) {
        if (res.statusCode !== 401) problems.push(where);
      } else if (!roleAllows(caller.role, route.access)) {
        if (res.statusCode !== 403) problems.push(where);
      } else if (res.statusCode === 401 || res.statusCode === 403) {
        problems.push(where);
      }
    }
  }
  expect(problems).toEqual([]);
});

test('routes without a declared role cannot be registered', async () => {
  await expect(
    (async () => {
      const { default: Fastify } = await import('fastify');
      const { registerAccessControl } = await import('./auth');
      const { createAuthFailureLimiter } = await import('./plugins/auth-failures');
      const app = Fastify();
      registerAccessControl(app, {
        tokens: h.tokens,
        audit: h.repositories.audit,
        authFailures: createAuthFailureLimiter({ max: 10 }),
      });
      app.get('/undeclared', async () => 'x');
      await app.ready();
    })(),
  ).rejects.toThrow('declares no access role');
});

test('denied calls are audited as denied', async () => {
  await h.inject({
    method: 'POST',
    url: '/api/tokens',
    headers: bearer(h.auth.operator),
    payload: { name: 'n', role: 'admin' },
  });
  const { rows } = await h.db.query(
    `SELECT outcome, actor FROM audit_log WHERE action = 'POST /api/tokens' AND outcome = 'denied'`,
  );
  expect(rows.length).toBeGreaterThan(0);
});
