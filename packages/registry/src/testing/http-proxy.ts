import http from 'node:http';
import type net from 'node:net';

/** One request seen by the proxy. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** Return true from an interceptor when it answered the request itself. */
export type Interceptor = (req: http.IncomingMessage, res: http.ServerResponse) => boolean | Promise<boolean>;

/**
 * A recording HTTP proxy in front of a real registry, for tests that count requests or put
 * auth, redirects or tampering between tbuild and the registry. The Host header is passed
 * through, so the registry's Location URLs point back at the proxy.
 */
export interface ProxyOptions {
  intercept?: Interceptor;
  /** Address to listen on; another 127.x address is another host for redirect tests. */
  bind?: string;
  /** Edits the registry's response headers before they reach tbuild. */
  rewriteHeaders?: (req: http.IncomingMessage, headers: http.IncomingHttpHeaders) => void;
}

export async function startProxy(target: string, opts: ProxyOptions = {}): Promise<{ host: string; seen: SeenRequest[]; close(): Promise<void> }> {
  const { intercept, bind = '127.0.0.1', rewriteHeaders } = opts;
  const seen: SeenRequest[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer(async (req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    try {
      if (intercept && (await intercept(req, res))) return;
    } catch (e) {
      res.writeHead(500).end(String(e));
      return;
    }
    const headers = { ...req.headers };
    delete headers.authorization;
    const up = http.request({ host: target.split(':')[0], port: Number(target.split(':')[1]), method: req.method, path: req.url, headers }, (r) => {
      const h = { ...r.headers };
      rewriteHeaders?.(req, h);
      res.writeHead(r.statusCode ?? 502, h);
      r.pipe(res);
    });
    up.on('error', (e) => res.writeHead(502).end(String(e)));
    req.pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, bind, r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: `${bind}:${port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
