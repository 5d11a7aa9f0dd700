import * as net from 'net';

/** A TCP proxy to `target` that goes silent on demand: a paused server (kill -STOP) or a half-open connection. */
export interface PausableProxy {
  readonly url: string;
  /** While true, nothing is forwarded either way; connections stay open. */
  silent: boolean;
  close(): Promise<void>;
}

export async function startPausableProxy(target: string): Promise<PausableProxy> {
  const { hostname, port, protocol } = new URL(target);
  const sockets = new Set<net.Socket>();
  const proxy: PausableProxy = { url: '', silent: false, close: async () => undefined };
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined).on('close', () => (client.destroy(), upstream.destroy()));
    }
    client.on('data', (chunk) => proxy.silent || upstream.write(chunk));
    upstream.on('data', (chunk) => proxy.silent || client.write(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(proxy, {
    url: `${protocol}//127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  });
}
