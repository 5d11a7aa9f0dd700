/**
 * A local stand-in for the two IBM Cloud APIs the Event Notifications binding calls: IAM's
 * `POST /identity/token` (it issues a token for the one API key it knows) and, under
 * `/event-notifications`, Send Notifications (it takes only a token it issued and records each body).
 */
import { randomUUID } from 'crypto';
import * as http from 'http';
import type { AddressInfo } from 'net';

export interface FakeIbmCloud {
  /** IAM's base URL here. */
  readonly iamUrl: string;
  /** Event Notifications' base URL here. */
  readonly enUrl: string;
  /** Tokens issued so far. */
  readonly tokensIssued: () => number;
  readonly notifications: { instanceId: string; body: Record<string, unknown> }[];
  /** Resolves once `n` notifications have been taken. */
  received(n: number): Promise<void>;
  close(): Promise<void>;
}

export async function startFakeIbmCloud(options: {
  apiKey: string;
  /** Seconds each token lives. @default 3600 */
  expiresIn?: number;
}): Promise<FakeIbmCloud> {
  const tokens = new Set<string>();
  const notifications: FakeIbmCloud['notifications'] = [];
  let waiters: { n: number; resolve: () => void }[] = [];
  const json = (res: http.ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/identity/token') {
        const form = new URLSearchParams(body);
        if (
          !String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded') ||
          form.get('grant_type') !== 'urn:ibm:params:oauth:grant-type:apikey' ||
          form.get('apikey') !== options.apiKey
        ) {
          json(res, 400, { errorCode: 'BXNIM0415E', errorMessage: 'Provided API key could not be found.' });
          return;
        }
        const token = `token-${randomUUID()}`;
        tokens.add(token);
        const expiresIn = options.expiresIn ?? 3600;
        json(res, 200, {
          access_token: token,
          token_type: 'Bearer',
          expires_in: expiresIn,
          expiration: Math.floor(Date.now() / 1000) + expiresIn,
        });
        return;
      }
      const route = /^\/event-notifications\/v1\/instances\/([^/]+)\/notifications$/.exec(req.url ?? '');
      if (req.method !== 'POST' || !route) {
        json(res, 404, { errors: [{ message: 'no route' }] });
        return;
      }
      const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
      if (!bearer || !tokens.has(bearer)) {
        json(res, 401, { errors: [{ code: 'unauthorized', message: 'token not issued here' }] });
        return;
      }
      notifications.push({ instanceId: decodeURIComponent(route[1]), body: JSON.parse(body) });
      waiters = waiters.filter((w) => (notifications.length >= w.n ? (w.resolve(), false) : true));
      json(res, 202, { request_id: randomUUID(), notification_id: randomUUID() });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    iamUrl: base,
    enUrl: `${base}/event-notifications`,
    tokensIssued: () => tokens.size,
    notifications,
    received: (n) => new Promise((resolve) => (notifications.length >= n ? resolve() : waiters.push({ n, resolve }))),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
