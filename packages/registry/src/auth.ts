import { registryError, where } from './errors.ts';
import { isLoopbackHost, readBody, send } from './http.ts';
import type { Credentials } from './credentials.ts';

/** One parsed `WWW-Authenticate` challenge. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Token endpoint answers larger than this are refused (security.md hostile input 50). */
export const MAX_TOKEN_BYTES = 1024 * 1024;

/** Parses `Bearer realm="…",service="…",scope="…"` (several challenges may share one header). */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let cur: Challenge | undefined;
  let i = 0;
  const skip = (chars: string): void => {
    while (i < header.length && chars.includes(header[i]!)) i++;
  };
  while (i < header.length) {
    skip(' \t,');
    const start = i;
    while (i < header.length && /[A-Za-z0-9_.!#$%&'*+^`|~-]/.test(header[i]!)) i++;
    const word = header.slice(start, i);
    if (!word) break;
    skip(' \t');
    if (header[i] !== '=') {
      cur = { scheme: word.toLowerCase(), params: {} };
      out.push(cur);
      continue;
    }
    i++;
    skip(' \t');
    let value = '';
    if (header[i] === '"') {
      for (i++; i < header.length && header[i] !== '"'; i++) value += header[i] === '\\' ? header[++i] ?? '' : header[i];
      i++;
    } else {
      const v = i;
      while (i < header.length && header[i] !== ',') i++;
      value = header.slice(v, i).trim();
    }
    if (cur) cur.params[word.toLowerCase()] = value;
  }
  return out;
}

/** Fetches a bearer token for `scopes` from the challenge's realm (distribution token auth spec). */
export async function fetchToken(opts: {
  registry: string;
  repository?: string;
  challenge: Challenge;
  scopes: string[];
  credentials?: Credentials;
  insecureHosts: Set<string>;
}): Promise<{ token: string; expiresAt: number }> {
  const { challenge, registry } = opts;
  const realm = challenge.params.realm;
  if (!realm) throw registryError('TB_REGISTRY_UNAUTHORIZED', `${where(registry, opts.repository)}: Bearer challenge without a realm`);
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw registryError('TB_REGISTRY_INSECURE_AUTH', `${where(registry, opts.repository)}: invalid token realm "${realm.slice(0, 200)}"`);
  }
  // Credentials and tokens must not travel in clear text or to odd places: plain http only for
  // loopback or explicitly insecure hosts, never link-local metadata addresses.
  const plainOk = isLoopbackHost(url.host) || opts.insecureHosts.has(url.host);
  if ((url.protocol !== 'https:' && !(url.protocol === 'http:' && plainOk)) || /^169\.254\./.test(url.hostname)) {
    throw registryError('TB_REGISTRY_INSECURE_AUTH', `${where(registry, opts.repository)}: refusing token realm ${url.protocol}//${url.host}`, {
      hint: 'token realms must use https (or be loopback / listed in insecureRegistries)',
    });
  }
  if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
  for (const s of opts.scopes) url.searchParams.append('scope', s);
  const authorization = opts.credentials
    ? 'Basic ' + Buffer.from(`${opts.credentials.username}:${opts.credentials.password}`).toString('base64')
    : undefined;
  const res = await send({ method: 'GET', url, authorization });
  const body = await readBody(res, MAX_TOKEN_BYTES, `${where(registry, opts.repository)}: token from ${url.host}`);
  if (res.status === 401 || res.status === 403) {
    throw registryError('TB_REGISTRY_UNAUTHORIZED', `${where(registry, opts.repository)}: token endpoint ${url.host} answered ${res.status}`, {
      hint: opts.credentials ? 'check the credentials in ~/.docker/config.json' : 'log in: the registry refuses anonymous access',
    });
  }
  if (res.status !== 200) {
    throw registryError('TB_REGISTRY_HTTP', `${where(registry, opts.repository)}: token endpoint ${url.host} answered ${res.status}`);
  }
  let j: { token?: unknown; access_token?: unknown; expires_in?: unknown };
  try {
    j = JSON.parse(body.toString('utf8')) as typeof j;
  } catch {
    throw registryError('TB_REGISTRY_UNAUTHORIZED', `${where(registry, opts.repository)}: token endpoint ${url.host} returned invalid JSON`);
  }
  const token = typeof j.token === 'string' && j.token ? j.token : typeof j.access_token === 'string' ? j.access_token : '';
  if (!token) throw registryError('TB_REGISTRY_UNAUTHORIZED', `${where(registry, opts.repository)}: token endpoint ${url.host} returned no token`);
  const ttl = typeof j.expires_in === 'number' && j.expires_in > 0 ? j.expires_in : 60;
  return { token, expiresAt: Date.now() + (ttl - 5) * 1000 };
}
