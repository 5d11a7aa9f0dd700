import Fastify, { type FastifyInstance } from 'fastify';
import { lazyCompilers } from './lazy-compilers';

interface Request {
  method: 'GET' | 'POST';
  url: string;
  payload?: unknown;
}

/** One request to a listening instance (as the API harness does: Fastify's inject needs ESM-only cookie). */
async function send(base: string, { method, url, payload }: Request) {
  const response = await fetch(`${base}${url}`, {
    method,
    ...(payload === undefined
      ? {}
      : { body: JSON.stringify(payload), headers: { 'content-type': 'application/json' } }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** The base URL of `instance`, listening on a free loopback port. */
const listening = (instance: FastifyInstance) => instance.listen({ host: '127.0.0.1', port: 0 });

const body = { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 2 } } } as const;
const response = { 200: { type: 'object', properties: { name: { type: 'string' } } } } as const;

function app(compilers?: ReturnType<typeof lazyCompilers>): FastifyInstance {
  const instance = Fastify(compilers ? { schemaController: { compilersFactory: compilers as never } } : {});
  instance.addSchema({ $id: 'name', type: 'string', minLength: 2 });
  instance.post('/echo', { schema: { body, response } }, async (request) => ({
    ...(request.body as object),
    secret: 'left out by the response schema',
  }));
  instance.get('/ref', { schema: { querystring: { type: 'object', properties: { q: { $ref: 'name#' } } } } }, () => ({
    ok: true,
  }));
  return instance;
}

describe('schemas compiled on first use', () => {
  test('a route with a schema that does not compile does not stop start-up: its first request is the 500', async () => {
    const instance = app(lazyCompilers());
    instance.post('/broken', { schema: { body: { type: 'no-such-type' } } }, () => 'never');
    const base = await listening(instance);
    expect((await send(base, { method: 'POST', url: '/echo', payload: { name: 'Ada' } })).status).toBe(200);
    expect((await send(base, { method: 'POST', url: '/broken', payload: {} })).status).toBe(500);
    await instance.close();
  });

  test('requests are validated and answers serialized exactly as with the compilers compiled at start-up', async () => {
    const lazyApp = app(lazyCompilers());
    const eagerApp = app();
    const [lazy, eager] = await Promise.all([listening(lazyApp), listening(eagerApp)]);
    const requests: Request[] = [
      { method: 'POST', url: '/echo', payload: { name: 'Ada' } },
      { method: 'POST', url: '/echo', payload: { name: 'A' } },
      { method: 'POST', url: '/echo', payload: {} },
      { method: 'GET', url: '/ref?q=x' },
      { method: 'GET', url: '/ref?q=xy' },
    ];
    // Twice over: the first request of a route compiles, the second uses what it compiled.
    for (const request of [...requests, ...requests]) {
      expect(await send(lazy, request)).toEqual(await send(eager, request));
    }
    expect((await send(lazy, requests[0])).body).toEqual({ name: 'Ada' });
    expect((await send(lazy, requests[1])).body.message).toBe('body/name must NOT have fewer than 2 characters');
    await Promise.all([lazyApp.close(), eagerApp.close()]);
  });
});
