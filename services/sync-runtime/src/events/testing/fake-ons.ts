/**
 * A local stand-in for OCI Notifications' PublishMessage: it checks each request's OCI signature
 * against the public key of the principal it trusts (the key id must be `ST$<token>`), answers 401 to
 * anything else, and records the CloudEvents batch of each accepted message.
 */
import { createHash, createVerify, type KeyObject } from 'crypto';
import * as http from 'http';
import type { AddressInfo } from 'net';
import type { CloudEvent } from '@data-sync/config/events';
import { ociSigningString } from '@data-sync/monitoring/oci-signing';

export interface FakeOnsMessage {
  readonly topicId: string;
  readonly title: string;
  readonly messageType: string | undefined;
  readonly events: CloudEvent[];
}

export interface FakeOns {
  readonly url: string;
  readonly messages: FakeOnsMessage[];
  /** Requests refused, with why. */
  readonly refused: string[];
  /** Resolves once `n` events in all have been accepted. */
  events(n: number): Promise<CloudEvent[]>;
  close(): Promise<void>;
}

const SIGNED_WITH_BODY = '(request-target) date host x-content-sha256 content-type content-length';

/** Why `req` with `body` is not signed by `token`'s key, or null when it is. */
function signatureProblem(
  req: http.IncomingMessage,
  body: string,
  trusted: { token: string; publicKey: KeyObject },
): string | null {
  const auth = String(req.headers.authorization ?? '');
  if (!auth.startsWith('Signature ')) return 'no Signature authorization';
  const fields = Object.fromEntries(
    [...auth.slice('Signature '.length).matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => [k, v]),
  );
  if (fields.version !== '1' || fields.algorithm !== 'rsa-sha256') return 'not a version 1 rsa-sha256 signature';
  if (fields.keyId !== `ST$${trusted.token}`) return 'keyId is not the trusted session token';
  if (fields.headers !== SIGNED_WITH_BODY) return `signed headers are "${fields.headers}"`;
  if (req.headers['x-content-sha256'] !== createHash('sha256').update(body).digest('base64'))
    return 'x-content-sha256 does not match the body';
  if (Number(req.headers['content-length']) !== Buffer.byteLength(body)) return 'content-length does not match';
  const values: Record<string, string> = {
    '(request-target)': `${req.method!.toLowerCase()} ${req.url}`,
    date: String(req.headers.date),
    host: String(req.headers.host),
    'x-content-sha256': String(req.headers['x-content-sha256']),
    'content-type': String(req.headers['content-type']),
    'content-length': String(req.headers['content-length']),
  };
  if (Math.abs(Date.parse(values.date) - Date.now()) > 5 * 60_000) return 'date is more than 5 minutes off';
  const valid = createVerify('RSA-SHA256')
    .update(ociSigningString(fields.headers.split(' '), values))
    .verify(trusted.publicKey, fields.signature, 'base64');
  return valid ? null : 'signature does not verify';
}

export async function startFakeOns(trusted: { token: string; publicKey: KeyObject }): Promise<FakeOns> {
  const messages: FakeOnsMessage[] = [];
  const refused: string[] = [];
  let waiters: { n: number; resolve: () => void }[] = [];
  const count = () => messages.reduce((n, m) => n + m.events.length, 0);
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const route = /^\/20181201\/topics\/([^/]+)\/messages$/.exec(req.url ?? '');
      if (req.method !== 'POST' || !route) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"code":"NotFound","message":"no route"}');
        return;
      }
      const problem = signatureProblem(req, body, trusted);
      if (problem) {
        refused.push(problem);
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end(JSON.stringify({ code: 'NotAuthenticated', message: problem }));
        return;
      }
      const details = JSON.parse(body) as { title: string; body: string };
      messages.push({
        topicId: decodeURIComponent(route[1]),
        title: details.title,
        messageType: req.headers.messagetype as string | undefined,
        events: JSON.parse(details.body) as CloudEvent[],
      });
      waiters = waiters.filter((w) => (count() >= w.n ? (w.resolve(), false) : true));
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ messageId: `message-${messages.length}`, timeStamp: new Date().toISOString() }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const all = () => messages.flatMap((m) => m.events);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    messages,
    refused,
    events: (n) =>
      new Promise((resolve) => (count() >= n ? resolve(all()) : waiters.push({ n, resolve: () => resolve(all()) }))),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
