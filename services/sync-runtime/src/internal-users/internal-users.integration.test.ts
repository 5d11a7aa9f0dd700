/**
 * The "Done when", through the real entry point (main.ts start()) on the embedded defaults
 * (PGlite, the in-store queue, the in-process bus): a user the User Service posts reaches the Mailchimp
 * fake and appears on the change stream. Also: only a service token may post, versions make it
 * idempotent, a delete removes the contact.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { startFakeMailchimp, type MailchimpFake } from '@data-sync/vendor-fakes/mailchimp';
import type { CloudEvent } from '@data-sync/config/events';
import { start, type Runtime } from '../main';

let runtime: Runtime;
let mailchimp: MailchimpFake;
let dir: string;
let admin: string;
let service: string;
const api = (method: string, url: string, token: string, body?: unknown) =>
  fetch(`${runtime.url}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'internal-users-'));
  mailchimp = await startFakeMailchimp({ seed: { newsletter: 0 } });
  runtime = await start({
    // The Mailchimp fake listens on loopback.
    env: { DATA_SYNC_DATA_DIR: dir, PORT: '0', LOG_LEVEL: 'warn', DATA_SYNC_ALLOW_LOCAL_VENDORS: 'true' },
    print: () => undefined,
  });
  admin = runtime.adminToken!;
  service = (await (await api('POST', '/api/tokens', admin, { name: 'user-service', role: 'service' })).json()).token;
  const created = await api('POST', '/api/integrations', admin, {
    name: 'mailchimp',
    system: 'mailchimp',
    objects: ['newsletter'],
    pushObjects: ['newsletter'],
    config: { apiKey: mailchimp.apiKey, baseUrl: mailchimp.url },
  });
  expect(created.status).toBe(201);
}, 60_000);
afterAll(async () => {
  await runtime?.stop();
  await mailchimp?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Resolves with the first event on the in-process bus that `match` accepts. */
const nextEvent = (match: (e: CloudEvent) => boolean) =>
  new Promise<CloudEvent>((resolve) => {
    const bus = runtime.events.bus as unknown as { subscribe(h: (e: CloudEvent) => void): () => void };
    const off = bus.subscribe((e) => {
      if (match(e)) {
        off();
        resolve(e);
      }
    });
  });

/** Reads the change stream until a change satisfies `match`. */
async function streamUntil(match: (change: any) => boolean) {
  const response = await fetch(`${runtime.url}/api/changes/stream`, { headers: { authorization: `Bearer ${admin}` } });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error('stream ended');
    buffer += decoder.decode(value, { stream: true });
    for (const block of buffer.split('\n\n').slice(0, -1)) {
      const data = /^data: (.*)$/m.exec(block);
      if (data && match(JSON.parse(data[1]))) {
        await reader.cancel();
        return JSON.parse(data[1]);
      }
    }
    buffer = buffer.slice(buffer.lastIndexOf('\n\n') + 2);
  }
}

test('a posted user reaches the Mailchimp fake and the change stream', async () => {
  const email = 'new.user@example.com';
  const onStream = streamUntil((c) => c.entity === 'contacts' && c.key.email === email && c.op === 'insert');
  const pushed = nextEvent(
    (e) =>
      e.type === 'com.datasync.sync.run.succeeded' && e.data.integration === 'mailchimp' && e.data.direction === 'push',
  );
  const started = performance.now();
  const posted = await api('POST', '/api/internal/users', service, {
    users: [{ op: 'upsert', id: 'u-1', version: 1, email, firstName: 'new', lastName: 'user' }],
  });
  expect(posted.status).toBe(200);
  expect(await posted.json()).toMatchObject({ applied: 1, inserted: 1, stale: 0, pushes: ['mailchimp'] });
  const [change] = await Promise.all([onStream, pushed]);
  const elapsed = performance.now() - started;
  expect(mailchimp.members('newsletter').map((m) => m.email_address)).toContain(email);
  expect(change.data).toMatchObject({ email, first_name: 'New', source: 'user_service' });
  // Measured, not asserted (wall-clock): the issue asks for under a second on the embedded defaults.
  console.log(`user posted -> Mailchimp fake and change stream: ${elapsed.toFixed(0)} ms`);
});

test('a repeated or older version changes nothing; a newer delete removes the contact', async () => {
  const email = 'versioned@example.com';
  const post = (users: unknown[]) => api('POST', '/api/internal/users', service, { users });
  expect(await (await post([{ op: 'upsert', id: 'u-2', version: 5, email, firstName: 'five' }])).json()).toMatchObject({
    applied: 1,
    inserted: 1,
  });
  expect(await (await post([{ op: 'upsert', id: 'u-2', version: 5, email, firstName: 'again' }])).json()).toMatchObject(
    {
      applied: 0,
      stale: 1,
    },
  );
  expect(await (await post([{ op: 'upsert', id: 'u-2', version: 4, email, firstName: 'older' }])).json()).toMatchObject(
    {
      applied: 0,
      stale: 1,
    },
  );
  const contact = await (await api('GET', `/api/contacts/${email}`, admin)).json();
  expect(contact.first_name).toBe('Five');
  expect(await (await post([{ op: 'delete', id: 'u-2', version: 6 }])).json()).toMatchObject({
    applied: 1,
    deleted: 1,
  });
  expect((await api('GET', `/api/contacts/${email}`, admin)).status).toBe(404);
});

test('only a service token may post, and a bad batch is a 400 naming the problem', async () => {
  const body = { users: [{ op: 'upsert', id: 'u-3', version: 1, email: 'x@example.com' }] };
  expect((await api('POST', '/api/internal/users', admin, body)).status).toBe(403);
  const bad = await api('POST', '/api/internal/users', service, {
    users: [{ op: 'upsert', id: 'u-4', email: 'x@example.com' }],
  });
  expect(bad.status).toBe(400);
  // A service token reaches nothing else.
  expect((await api('GET', '/api/contacts', service)).status).toBe(403);
});
