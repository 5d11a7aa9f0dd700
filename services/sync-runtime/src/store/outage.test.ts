/**
 * Which errors are an outage (503 with Retry-After) rather than a failure: the Redis client's errors come
 * from a real ioredis against a loopback server that accepts connections and never answers (a paused Redis),
 * and against a closed port.
 */
import * as net from 'net';
import IORedis from 'ioredis';
import { toErrorBody } from '../api/errors';
import { isStoreOutage } from './outage';

/** The error `command` rejects with. */
const rejection = (command: Promise<unknown>) =>
  command.then(
    () => {
      throw new Error('the command answered');
    },
    (error: unknown) => error,
  );

describe('isStoreOutage', () => {
  let silent: net.Server;
  let silentPort: number;
  const sockets = new Set<net.Socket>();
  beforeAll(async () => {
    silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentPort = (silent.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  test('a Redis command that times out on a connection nobody answers (a paused Redis) is an outage, answered 503 with Retry-After', async () => {
    const redis = new IORedis({ port: silentPort, host: '127.0.0.1', maxRetriesPerRequest: null, commandTimeout: 50 });
    redis.on('error', () => undefined);
    try {
      const error = await rejection(redis.get('key'));
      expect(isStoreOutage(error)).toBe(true);
      expect(toErrorBody(error)).toMatchObject({ status: 503, retryAfterSeconds: expect.any(Number) });
    } finally {
      redis.disconnect();
    }
  });

  test('a Redis that refuses connections is an outage, whether the client queues offline or not', async () => {
    const closed = await new Promise<number>((resolve) => {
      const probe = net.createServer();
      probe.listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const retrying = new IORedis({ port: closed, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => 10 });
    const offline = new IORedis({
      port: closed,
      host: '127.0.0.1',
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    for (const client of [retrying, offline]) client.on('error', () => undefined);
    try {
      expect(isStoreOutage(await rejection(retrying.get('key')))).toBe(true);
      expect(isStoreOutage(await rejection(offline.get('key')))).toBe(true);
    } finally {
      retrying.disconnect();
      offline.disconnect();
    }
  });

  test('an error Redis answered (a refused command) is not an outage', async () => {
    const error = new Error("ERR unknown command 'NOPE'");
    expect(isStoreOutage(error)).toBe(false);
    expect(toErrorBody(error).status).toBe(500);
  });
});
