import type http from 'node:http';
import type { Readable } from 'node:stream';
import { registryError } from './errors.ts';
import { extraCaOptions } from './extra-ca.ts';

/** One HTTP exchange. `body` is a factory so a request can be replayed after an auth challenge. */
export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: URL;
  headers?: Record<string, string>;
  body?: () => Buffer | Readable;
  /** Sent only to `url`'s host: dropped on any redirect that leaves it (distribution spec, CVE-2020-15157). */
  authorization?: string;
}

/** A response whose body has not been read yet; `url` is where it came from after redirects. */
export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  url: URL;
  body: http.IncomingMessage;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
const IDLE_TIMEOUT_MS = 60_000;

// Loaded on the first request: http, https, tls and net cost every start ~5 ms, and most
// commands (a warm build from local images) never talk to a registry.
type Client = { mod: typeof import('node:http'); agent: http.Agent };
let clients: Promise<{ http: Client; https: Client }> | undefined;
function loadClients(): Promise<{ http: Client; https: Client }> {
  clients ??= Promise.all([import('node:http'), import('node:https'), extraCaOptions()]).then(([h, s, ca]) => ({
    http: { mod: h.default, agent: new h.default.Agent({ keepAlive: true }) },
    https: { mod: s.default as unknown as typeof import('node:http'), agent: new s.default.Agent({ keepAlive: true, ...ca }) },
  }));
  return clients;
}

/** Loopback hosts get plain HTTP by default, as Docker does for its insecure-registry defaults. */
export function isLoopbackHost(host: string): boolean {
  const h = hostnameOf(host);
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

export function hostnameOf(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const i = host.lastIndexOf(':');
  return i >= 0 && host.indexOf(':') === i ? host.slice(0, i) : host;
}

/**
 * Sends a request and follows GET/HEAD redirects. The Authorization header goes only to the
 * original host; a redirect to another host (object storage, a CDN, an attacker) never sees it.
 */
export async function send(req: HttpRequest): Promise<HttpResponse> {
  let url = req.url;
  const origin = req.url.host;
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = { 'user-agent': 'tbuild', ...req.headers };
    if (req.authorization && url.host === origin && url.protocol === req.url.protocol) headers.authorization = req.authorization;
    const res = await once(req.method, url, headers, hop === 0 ? req.body : undefined);
    if (REDIRECTS.has(res.status) && (req.method === 'GET' || req.method === 'HEAD') && res.headers.location) {
      res.body.resume();
      if (hop >= MAX_REDIRECTS) throw registryError('TB_REGISTRY_HTTP', `too many redirects fetching ${req.url.host}${req.url.pathname}`);
      const next = new URL(res.headers.location, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw registryError('TB_REGISTRY_HTTP', `refusing redirect from ${url.host} to a ${next.protocol} URL`);
      }
      if (url.protocol === 'https:' && next.protocol === 'http:' && !isLoopbackHost(next.host)) {
        throw registryError('TB_REGISTRY_HTTP', `refusing redirect from https://${url.host} to plain http://${next.host}`);
      }
      url = next;
      continue;
    }
    return res;
  }
}

async function once(method: string, url: URL, headers: Record<string, string>, body?: () => Buffer | Readable): Promise<HttpResponse> {
  const { mod, agent } = (await loadClients())[url.protocol === 'https:' ? 'https' : 'http'];
  return new Promise((resolve, reject) => {
    const b = body?.();
    if (Buffer.isBuffer(b)) headers['content-length'] = String(b.length);
    else if (!b && method !== 'GET' && method !== 'HEAD') headers['content-length'] ??= '0';
    const r = mod.request(url, { method, headers, agent }, (res) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers, url, body: res });
    });
    r.setTimeout(IDLE_TIMEOUT_MS, () => r.destroy(new Error(`no answer from ${url.host} for ${IDLE_TIMEOUT_MS / 1000}s`)));
    r.on('error', (e) =>
      reject(registryError('TB_REGISTRY_UNREACHABLE', `registry ${url.host}: ${method} ${url.pathname} failed: ${e.message}`, { cause: e })),
    );
    if (!b) r.end();
    else if (Buffer.isBuffer(b)) r.end(b);
    else {
      b.on('error', (e) => r.destroy(e));
      b.pipe(r);
    }
  });
}

/** Reads a whole body, refusing more than `max` bytes (token and manifest caps, security.md #50). */
export async function readBody(res: HttpResponse, max: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    res.body.destroy();
    throw registryError('TB_REGISTRY_TOO_LARGE', `${what}: response of ${declared} bytes exceeds the ${max}-byte limit`);
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) {
      res.body.destroy();
      throw registryError('TB_REGISTRY_TOO_LARGE', `${what}: response exceeds the ${max}-byte limit`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** Drains an unwanted body so the keep-alive socket can be reused. */
export async function discard(res: HttpResponse): Promise<void> {
  res.body.resume();
  await new Promise<void>((r) => {
    if (res.body.readableEnded || res.body.destroyed) return r();
    res.body.on('end', r).on('close', r).on('error', () => r());
  });
}
