/**
 * The web console's static files at /console, built by scripts/build-console.js. The files are public
 * (they hold no data); the page asks for an API token and every call it makes goes through the same
 * role checks as any other client.
 */
import { promises as fs, existsSync } from 'fs';
import * as path from 'path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Only the build's own flat file names: no path segments, so nothing outside the folder is reachable. */
const FILE_NAME = /^[a-z0-9][a-z0-9.-]{0,63}\.(html|js|css|svg)$/;

// The page runs only its own script and talks only to this origin; no framing (clickjacking on replay buttons).
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * Where the built files are: beside the bundle (dist/runtime/console) when running the esbuild bundle,
 * dist/console at the repository root when running from source (npm run dev builds it first).
 */
export function consoleAssetsDir(): string | null {
  const candidates = [path.join(__dirname, 'console'), path.resolve(__dirname, '../../../../../dist/console')];
  return candidates.find((dir) => existsSync(path.join(dir, 'index.html'))) ?? null;
}

export const consoleRoutes = (dir: string | null) => async (app: FastifyInstance) => {
  async function send(reply: FastifyReply, file: string) {
    if (!dir) {
      throw new ApiError(
        404,
        'console_not_built',
        'the console is not built: run `npm run build:console` (or `npm run build`)',
      );
    }
    let body: Buffer;
    try {
      body = await fs.readFile(path.join(dir, file));
    } catch {
      throw new ApiError(404, 'not_found', `no console file "${file}"`);
    }
    return reply
      .header('content-type', TYPES[path.extname(file)])
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-cache')
      .send(body);
  }
  const options = { config: { access: 'public' as const, audit: false }, schema: { hide: true } };
  app.get('/console', options, async (_request, reply) => send(reply, 'index.html'));
  app.get('/console/', options, async (_request, reply) => send(reply, 'index.html'));
  app.get('/console/:file', options, async (request: FastifyRequest<{ Params: { file: string } }>, reply) => {
    if (!FILE_NAME.test(request.params.file))
      throw new ApiError(404, 'not_found', `no console file "${request.params.file}"`);
    return send(reply, request.params.file);
  });
};
