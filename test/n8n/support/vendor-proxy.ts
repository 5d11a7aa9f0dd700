/**
 * An egress proxy for n8n under test, as a company proxy would be (HTTPS_PROXY): CONNECTs to the vendor
 * hosts it knows are terminated with a certificate from a throwaway CA (trusted by n8n through
 * NODE_EXTRA_CA_CERTS) and forwarded to the local fake; every other host is refused. So vendor nodes
 * whose host n8n fixes (Mailchimp: `https://<dc>.api.mailchimp.com/3.0`) run unchanged against fakes.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import * as tls from 'tls';

export interface VendorProxy {
  /** http://127.0.0.1:<port>, for HTTPS_PROXY. */
  readonly url: string;
  /** PEM of the CA that signed the vendor hosts' certificate, for NODE_EXTRA_CA_CERTS. */
  readonly caFile: string;
  /** `host:port` of every CONNECT, in order (refused ones too). */
  readonly connects: string[];
  close(): Promise<void>;
}

function certificates(dir: string, hosts: readonly string[]): { key: Buffer; cert: Buffer; caFile: string } {
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
    '-days',
    '1',
    '-subj',
    '/CN=data-sync test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    file('host.key'),
    '-out',
    file('host.csr'),
    '-subj',
    `/CN=${hosts[0]}`,
  );
  fs.writeFileSync(
    file('host.ext'),
    `subjectAltName=${hosts.map((h) => `DNS:${h}`).join(',')}\nextendedKeyUsage=serverAuth\n`,
  );
  openssl(
    'x509',
    '-req',
    '-in',
    file('host.csr'),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-out',
    file('host.pem'),
    '-days',
    '1',
    '-extfile',
    file('host.ext'),
  );
  return { key: fs.readFileSync(file('host.key')), cert: fs.readFileSync(file('host.pem')), caFile: file('ca.pem') };
}

/** routes: vendor host -> base URL of its fake (e.g. `us6.api.mailchimp.com` -> `http://127.0.0.1:4100`). */
export async function startVendorProxy(routes: Readonly<Record<string, string>>): Promise<VendorProxy> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vendor-proxy-'));
  const { key, cert, caFile } = certificates(dir, Object.keys(routes));
  const connects: string[] = [];
  const forward = http.createServer((req, res) => {
    const target = new URL(routes[String(req.headers.host).split(':')[0]]);
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) => res.writeHead(502).end(error.message));
    req.pipe(upstream);
  });
  const proxy = http.createServer((_req, res) => res.writeHead(405).end('CONNECT only'));
  proxy.on('connect', (req, socket) => {
    const authority = String(req.url);
    connects.push(authority);
    const [host, port] = authority.split(':');
    if (!routes[host] || port !== '443') {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    const secure = new tls.TLSSocket(socket, { isServer: true, key, cert });
    forward.emit('connection', secure);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    caFile,
    connects,
    close: async () => {
      proxy.closeAllConnections();
      forward.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
