import { parseChallenges, fetchToken, type Challenge } from './auth.ts';
import { dockerConfigCredentials, type CredentialSource } from './credentials.ts';
import { isDigest, sha256 } from './digest.ts';
import { MAX_MANIFEST_BYTES, parseDocument, type ParsedDocument } from './documents.ts';
import { registryError, where } from './errors.ts';
import { discard, isLoopbackHost, readBody, send, type HttpRequest, type HttpResponse } from './http.ts';
import { MANIFEST_ACCEPT } from './media-types.ts';
import { DOCKER_HUB } from './reference.ts';
import type { BlobStore } from './store-port.ts';
import type { Descriptor, Platform } from './types.ts';
import { pullScope, pushScope, type RepoContext } from './scopes.ts';
import { pullImage, type PullResult } from './pull.ts';
import { fetchBlob } from './blob-fetch.ts';
import { pushImage, type PushResult } from './push.ts';

/** Options of a RegistryClient; all optional. */
export interface RegistryClientOptions {
  /** Hosts (host[:port]) reached over plain HTTP; loopback registries always are. */
  insecureRegistries?: string[];
  /** Where credentials come from; default the docker CLI's ~/.docker/config.json. */
  credentials?: CredentialSource;
  /** Blobs larger than this are pushed in chunks of this size (PATCH); default 32 MiB. */
  chunkSize?: number;
  /** Parallel blob transfers per pull or push; default 3. */
  concurrency?: number;
  /** Called as blob bytes arrive during pulls (for progress displays; may be called often). */
  onProgress?: (p: BlobProgress) => void;
}

/** Progress of one blob download. */
export interface BlobProgress {
  registry: string;
  repository: string;
  digest: string;
  current: number;
  total: number;
}


interface AuthState {
  challenge?: Challenge;
  tokens: Map<string, { token: string; expiresAt: number }>;
}

/**
 * A client for the OCI distribution API, one per build (it caches tokens and remembers which
 * repositories hold which blobs, for cross-repository mounts). Every manifest and blob it
 * returns has been checked against its digest. Methods throw BuildError TB_REGISTRY_* for
 * anything the registry or the network does wrong.
 */
export class RegistryClient {
  readonly insecure: Set<string>;
  readonly chunkSize: number;
  readonly concurrency: number;
  readonly onProgress?: (p: BlobProgress) => void;
  private readonly credentials: CredentialSource;
  private readonly auth = new Map<string, AuthState>();
  /** blob digest -> "registry/repository" entries known to hold it (from pulls and pushes). */
  readonly knownBlobs = new Map<string, Set<string>>();

  constructor(opts: RegistryClientOptions = {}) {
    this.insecure = new Set(opts.insecureRegistries ?? []);
    this.credentials = opts.credentials ?? dockerConfigCredentials();
    this.chunkSize = opts.chunkSize ?? 32 * 1024 * 1024;
    this.concurrency = Math.max(1, opts.concurrency ?? 3);
    if (opts.onProgress) this.onProgress = opts.onProgress;
  }

  /** The API base URL for a registry host: Docker Hub's API host, http for loopback/insecure, https otherwise. */
  baseUrl(registry: string): URL {
    if (registry === DOCKER_HUB) return new URL('https://registry-1.docker.io');
    const plain = isLoopbackHost(registry) || this.insecure.has(registry);
    return new URL(`${plain ? 'http' : 'https'}://${registry}`);
  }

  repoUrl(ctx: RepoContext, suffix: string): URL {
    return new URL(`/v2/${ctx.repository}/${suffix}`, this.baseUrl(ctx.registry));
  }

  remember(digest: string, ctx: RepoContext): void {
    const key = `${ctx.registry}/${ctx.repository}`;
    const set = this.knownBlobs.get(digest) ?? new Set<string>();
    set.add(key);
    this.knownBlobs.set(digest, set);
  }

  /** GET /v2/: succeeds when the registry answers 200, or 401 and the credentials then work. */
  async ping(registry: string): Promise<void> {
    const url = new URL('/v2/', this.baseUrl(registry));
    const res = await this.request({ registry, repository: '' }, { method: 'GET', url }, []);
    if (res.status !== 200) throw await this.failure({ registry, repository: '' }, res, 'GET /v2/');
    await discard(res);
  }

  /**
   * Sends a request with whatever authorization the registry asked for. A 401 is answered once:
   * the challenge is parsed, a token fetched for `scopes` plus the challenge's own scope, and the
   * request replayed (bodies are factories so uploads replay too).
   */
  async request(ctx: RepoContext, req: HttpRequest, scopes: string[]): Promise<HttpResponse> {
    const state = this.authState(ctx.registry);
    let busy = 0;
    for (let attempt = 0; ; attempt++) {
      const authorization = await this.authorization(ctx, state, scopes);
      const res = await send({ ...req, authorization });
      if ((res.status === 429 || res.status === 503) && (req.method === 'GET' || req.method === 'HEAD') && busy++ < 3) {
        // Rate limited or overloaded: honour Retry-After (capped) for requests safe to repeat.
        await discard(res);
        const after = Number(res.headers['retry-after']);
        await new Promise((r) => setTimeout(r, Math.min(Number.isFinite(after) && after > 0 ? after : 1, 10) * 1000));
        attempt--;
        continue;
      }
      if (res.status !== 401 || attempt > 0) return res;
      const header = res.headers['www-authenticate'];
      await discard(res);
      const challenges = parseChallenges(Array.isArray(header) ? header.join(', ') : (header ?? ''));
      const challenge = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
      if (!challenge) {
        throw registryError('TB_REGISTRY_UNAUTHORIZED', `${where(ctx.registry, ctx.repository)}: ${req.method} ${req.url.pathname} answered 401 without a usable WWW-Authenticate challenge`);
      }
      state.challenge = challenge;
      const extra = challenge.params.scope?.split(' ').filter(Boolean) ?? [];
      scopes = [...new Set([...scopes, ...extra])];
      state.tokens.delete(scopeKey(scopes));
    }
  }

  private authState(registry: string): AuthState {
    let s = this.auth.get(registry);
    if (!s) this.auth.set(registry, (s = { tokens: new Map() }));
    return s;
  }

  private async authorization(ctx: RepoContext, state: AuthState, scopes: string[]): Promise<string | undefined> {
    const c = state.challenge;
    if (!c) return undefined;
    const creds = await this.credentials(ctx.registry);
    if (c.scheme === 'basic') {
      return creds ? 'Basic ' + Buffer.from(`${creds.username}:${creds.password}`).toString('base64') : undefined;
    }
    const key = scopeKey(scopes);
    const cached = state.tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return `Bearer ${cached.token}`;
    const t = await fetchToken({ registry: ctx.registry, repository: ctx.repository, challenge: c, scopes, credentials: creds, insecureHosts: this.insecure });
    state.tokens.set(key, t);
    return `Bearer ${t.token}`;
  }

  /** Turns an unexpected response into one-line BuildError naming registry, repository and status. */
  async failure(ctx: RepoContext, res: HttpResponse, op: string): Promise<Error> {
    let detail = '';
    try {
      const body = await readBody(res, 64 * 1024, op);
      const j = JSON.parse(body.toString('utf8')) as { errors?: { code?: string; message?: string }[] };
      const e = j.errors?.[0];
      if (e) detail = ` (${e.code ?? 'ERROR'}: ${String(e.message ?? '').slice(0, 200)})`;
    } catch {
      /* non-JSON or oversized error bodies add nothing useful */
    }
    const msg = `${where(ctx.registry, ctx.repository)}: ${op} answered ${res.status} ${res.body.statusMessage ?? ''}`.trimEnd() + detail;
    switch (res.status) {
      case 401:
        return registryError('TB_REGISTRY_UNAUTHORIZED', msg, { hint: 'log in to the registry (credentials are read from ~/.docker/config.json)' });
      case 403:
        return registryError('TB_REGISTRY_DENIED', msg);
      case 404:
        return registryError('TB_REGISTRY_NOT_FOUND', msg);
      case 429:
        return registryError('TB_REGISTRY_HTTP', msg, { hint: `rate limited; retry after ${String(res.headers['retry-after'] ?? 'a while')}` });
      default:
        return registryError('TB_REGISTRY_HTTP', msg);
    }
  }

  /**
   * Fetches a manifest or index by tag or digest. The bytes are checked against the requested
   * digest, or against Docker-Content-Digest when fetched by tag, and parsed with the
   * Content-Type cross-check (CVE-2021-41190).
   */
  async getManifest(ctx: RepoContext, reference: string): Promise<{ bytes: Buffer; digest: string; doc: ParsedDocument }> {
    const op = `GET manifest "${reference}"`;
    const res = await this.request(ctx, { method: 'GET', url: this.repoUrl(ctx, `manifests/${reference}`), headers: { accept: MANIFEST_ACCEPT.join(', ') } }, [pullScope(ctx)]);
    if (res.status !== 200) throw await this.failure(ctx, res, op);
    const bytes = await readBody(res, MAX_MANIFEST_BYTES, `${where(ctx.registry, ctx.repository)}: ${op}`);
    const digest = sha256(bytes);
    const claimed = res.headers['docker-content-digest'];
    const expected = isDigest(reference) ? reference : typeof claimed === 'string' && claimed.startsWith('sha256:') ? claimed : undefined;
    if (expected && expected !== digest) {
      throw registryError('TB_REGISTRY_DIGEST_MISMATCH', `${where(ctx.registry, ctx.repository)}: manifest "${reference}" has digest ${digest}, expected ${expected}`);
    }
    const doc = parseDocument(bytes, `${where(ctx.registry, ctx.repository)}: manifest "${reference}"`, res.headers['content-type']);
    return { bytes, digest, doc };
  }

  /** HEAD a blob: present only with 200 and, when the registry names one, the same digest (security.md #51). */
  async hasBlob(ctx: RepoContext, digest: string, scopes = [pushScope(ctx)]): Promise<boolean> {
    const res = await this.request(ctx, { method: 'HEAD', url: this.repoUrl(ctx, `blobs/${digest}`) }, scopes);
    await discard(res);
    if (res.status === 404) return false;
    if (res.status !== 200) throw await this.failure(ctx, res, `HEAD blob ${digest}`);
    const claimed = res.headers['docker-content-digest'];
    return claimed === undefined || claimed === digest;
  }

  /** Streams a verified blob into the store, resuming with Range after a dropped connection; see fetchBlob. */
  fetchBlob(ctx: RepoContext, desc: Descriptor, store: BlobStore): Promise<void> {
    return fetchBlob(this, ctx, desc, store);
  }

  /** Pulls `ref` for `platform` (default the host's) into `store`; see pullImage. */
  pull(store: BlobStore, ref: string, platform?: Platform): Promise<PullResult> {
    return pullImage(this, store, ref, platform);
  }

  /** Pushes local image `localRef` as `remoteRef` (default the same name); see pushImage. */
  push(store: BlobStore, localRef: string, remoteRef?: string): Promise<PushResult> {
    return pushImage(this, store, localRef, remoteRef);
  }

  /** PUT a manifest under a tag or digest; the registry must echo our digest. */
  async putManifest(ctx: RepoContext, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    const digest = sha256(bytes);
    const op = `PUT manifest "${reference}"`;
    const res = await this.request(ctx, { method: 'PUT', url: this.repoUrl(ctx, `manifests/${reference}`), headers: { 'content-type': mediaType }, body: () => bytes }, [pushScope(ctx)]);
    if (res.status !== 201 && res.status !== 200) throw await this.failure(ctx, res, op);
    await discard(res);
    const claimed = res.headers['docker-content-digest'];
    if (typeof claimed === 'string' && claimed.startsWith('sha256:') && claimed !== digest) {
      throw registryError('TB_REGISTRY_DIGEST_MISMATCH', `${where(ctx.registry, ctx.repository)}: registry stored manifest as ${claimed}, expected ${digest}`);
    }
    return digest;
  }
}

function scopeKey(scopes: string[]): string {
  return [...scopes].sort().join(' ');
}
