/** The runtime's HTTP API as the CLI sees it: JSON in and out, every failure one line naming what is wrong. */
import { CliError } from './errors';

export interface Client {
  readonly url: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each command reads the shape of the route it calls
  call<T = any>(method: string, path: string, body?: unknown): Promise<T>;
}

export function createClient(options: { url: string; token?: string }): Client {
  return {
    url: options.url,
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      const headers: Record<string, string> = {};
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      let response: Response;
      try {
        response = await fetch(options.url + path, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        throw new CliError(`cannot reach ${options.url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
      }
      const text = await response.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = null;
      }
      if (!response.ok) {
        const reason = (parsed as { message?: string } | null)?.message ?? (text.slice(0, 200) || response.statusText);
        throw new CliError(`${method} ${path.split('?')[0]}: ${response.status} ${reason}`);
      }
      return parsed as T;
    },
  };
}
