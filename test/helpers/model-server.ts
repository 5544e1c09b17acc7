import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

// Servers for download tests, on 127.0.0.1 and a free port: a file server with ETags and byte
// ranges that can be told to fail, and a forward proxy that counts what goes through it.

/** A request the file server saw. */
export interface SeenRequest {
  path: string;
  range: string | undefined;
  ifRange: string | undefined;
}

/** How the file server answers one path. */
export interface Behaviour {
  /** Answer this status (with a short body) instead of the file. */
  status?: number;
  /** Send only this many bytes of the body, then cut the connection (once; later requests get the file). */
  cutAfter?: number;
  /** Ignore Range headers (answer 200 with the whole file). */
  noRanges?: boolean;
}

/** A running file server. */
export interface FileServer {
  readonly url: string;
  readonly requests: SeenRequest[];
  /** Files by URL path ('/name/file'). */
  readonly files: Map<string, Uint8Array>;
  readonly behaviour: Map<string, Behaviour>;
  close(): Promise<void>;
}

/** Starts a file server over a map of URL paths to bytes. */
export async function startFileServer(files: Record<string, Uint8Array> = {}): Promise<FileServer> {
  const map = new Map(Object.entries(files));
  const behaviour = new Map<string, Behaviour>();
  const requests: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const p = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push({ path: p, range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined });
    const b = behaviour.get(p) ?? {};
    const body = map.get(p);
    if (b.status) {
      res.writeHead(b.status, { 'content-type': 'text/plain' }).end(`status ${b.status}\n`);
      return;
    }
    if (!body) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRangeOk = req.headers['if-range'] === undefined || req.headers['if-range'] === etag;
    let start = 0;
    if (range && !b.noRanges && ifRangeOk) {
      start = Number(range[1]);
      if (start >= body.byteLength) {
        res.writeHead(416, { 'content-range': `bytes */${body.byteLength}` }).end();
        return;
      }
      res.writeHead(206, { etag, 'content-length': body.byteLength - start, 'content-range': `bytes ${start}-${body.byteLength - 1}/${body.byteLength}` });
    } else {
      res.writeHead(200, { etag, 'content-length': body.byteLength, 'accept-ranges': b.noRanges ? 'none' : 'bytes' });
    }
    const rest = body.subarray(start);
    if (b.cutAfter !== undefined) {
      behaviour.set(p, { ...b, cutAfter: undefined });
      // Give the client time to read the bytes, then close (FIN, not RST: an RST may drop them).
      res.write(rest.subarray(0, b.cutAfter), () => setTimeout(() => res.socket?.end(), 100));
      return;
    }
    res.end(rest);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    files: map,
    behaviour,
    close: () => closeServer(server),
  };
}

/** A running forward proxy. */
export interface ProxyServer {
  readonly url: string;
  /** Targets requested through it: 'CONNECT host:port' or 'GET http://...'. */
  readonly seen: string[];
  close(): Promise<void>;
}

/** Starts an HTTP proxy that tunnels CONNECT and forwards absolute-URL requests, recording each. */
export async function startProxyServer(): Promise<ProxyServer> {
  const seen: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const target = new URL(req.url ?? '');
    const upstream = http.request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    seen.push(`CONNECT ${req.url}`);
    const [host, port] = (req.url ?? '').split(':');
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: async () => {
      for (const s of sockets) s.destroy();
      await closeServer(server);
    },
  };
}

/** A port on 127.0.0.1 that nothing listens on (for "offline" errors). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
