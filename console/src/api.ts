/** Calls the runtime's API with the token the operator entered (kept in this tab's sessionStorage only). */
const TOKEN_KEY = 'data-sync-token';

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const token = () => sessionStorage.getItem(TOKEN_KEY);
export const setToken = (value: string | null) =>
  value === null ? sessionStorage.removeItem(TOKEN_KEY) : sessionStorage.setItem(TOKEN_KEY, value);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each page reads the shape of the route it calls
export async function api<T = any>(method: string, url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${token() ?? ''}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let parsed: { message?: string } | null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!response.ok) {
    const reason = parsed?.message ?? (text.slice(0, 200) || response.statusText);
    throw new ApiFailure(response.status, `${method} ${url.split('?')[0]}: ${response.status} ${reason}`);
  }
  return parsed as T;
}
