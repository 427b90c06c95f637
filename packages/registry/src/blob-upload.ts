import fs from 'node:fs';
import { registryError, where } from './errors.ts';
import { discard, type HttpResponse } from './http.ts';
import type { RegistryClient } from './registry-client.ts';
import { pullScope, pushScope, type RepoContext } from './scopes.ts';
import { assertBlobIntact, type BlobStore } from './store-port.ts';
import type { Descriptor } from './types.ts';

/** How a blob reached the registry: already there, mounted from another repository, or sent. */
export type UploadOutcome = 'exists' | 'mounted' | 'uploaded';

const MAX_CHUNK_ROUNDS = 100_000;

/**
 * Makes `desc` present in `ctx`'s repository: HEAD first, then a cross-repository mount from
 * `mountFrom` (repositories of the same registry known to hold it), then a monolithic PUT, or
 * PATCH chunks for blobs larger than the client's chunk size. Upload URLs from `Location` are
 * used as given (relative or absolute, with their query); only `digest=` is appended.
 */
export async function uploadBlob(client: RegistryClient, ctx: RepoContext, desc: Descriptor, store: BlobStore, mountFrom: string[] = []): Promise<UploadOutcome> {
  if (await client.hasBlob(ctx, desc.digest)) {
    client.remember(desc.digest, ctx);
    return 'exists';
  }
  let location: URL | undefined;
  for (const from of mountFrom.slice(0, 3)) {
    const url = client.repoUrl(ctx, 'blobs/uploads/');
    url.search = `?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(from)}`;
    const scopes = [pushScope(ctx), pullScope({ registry: ctx.registry, repository: from })];
    const res = await client.request(ctx, { method: 'POST', url }, scopes);
    await discard(res);
    if (res.status === 201) {
      client.remember(desc.digest, ctx);
      return 'mounted';
    }
    if (res.status === 202) {
      location = nextLocation(ctx, res, url);
      break;
    }
    // Anything else (e.g. 401/403 for the source repo): mounting is an optimisation, upload instead.
  }
  if (!location) {
    const url = client.repoUrl(ctx, 'blobs/uploads/');
    const res = await client.request(ctx, { method: 'POST', url }, [pushScope(ctx)]);
    if (res.status !== 202) throw await client.failure(ctx, res, `POST blob upload for ${desc.digest}`);
    await discard(res);
    location = nextLocation(ctx, res, url);
  }
  await assertBlobIntact(store, desc.digest);
  const path = store.blobPath(desc.digest);
  if (desc.size > client.chunkSize) location = await sendChunks(client, ctx, desc, path, location);
  const put = withDigest(location, desc.digest);
  const monolithic = desc.size <= client.chunkSize;
  const res = await client.request(
    ctx,
    {
      method: 'PUT',
      url: put,
      headers: monolithic ? { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) } : { 'content-length': '0' },
      body: monolithic ? () => fs.createReadStream(path) : undefined,
    },
    [pushScope(ctx)],
  );
  if (res.status !== 201) throw await client.failure(ctx, res, `PUT blob ${desc.digest}`);
  await discard(res);
  const claimed = res.headers['docker-content-digest'];
  if (typeof claimed === 'string' && claimed !== desc.digest) {
    throw registryError('TB_REGISTRY_DIGEST_MISMATCH', `${where(ctx.registry, ctx.repository)}: registry committed blob ${desc.digest} as ${claimed}`);
  }
  client.remember(desc.digest, ctx);
  return 'uploaded';
}

/** PATCHes the blob in chunks; after a 416 the upload status (GET) says where to resume. */
async function sendChunks(client: RegistryClient, ctx: RepoContext, desc: Descriptor, path: string, location: URL): Promise<URL> {
  let offset = 0;
  for (let round = 0; offset < desc.size; round++) {
    if (round > MAX_CHUNK_ROUNDS) throw registryError('TB_REGISTRY_HTTP', `${where(ctx.registry, ctx.repository)}: chunked upload of ${desc.digest} makes no progress`);
    const start = offset;
    const end = Math.min(start + client.chunkSize, desc.size) - 1;
    const res = await client.request(
      ctx,
      {
        method: 'PATCH',
        url: location,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(end - start + 1), 'content-range': `${start}-${end}` },
        body: () => fs.createReadStream(path, { start, end }),
      },
      [pushScope(ctx)],
    );
    await discard(res);
    if (res.status === 202) {
      location = nextLocation(ctx, res, location);
      offset = rangeEnd(res) ?? end + 1;
      continue;
    }
    if (res.status !== 416) throw await client.failure(ctx, res, `PATCH blob ${desc.digest} bytes ${start}-${end}`);
    const status = await client.request(ctx, { method: 'GET', url: location }, [pushScope(ctx)]);
    await discard(status);
    if (status.status !== 204) throw await client.failure(ctx, status, `GET upload status of ${desc.digest}`);
    location = nextLocation(ctx, status, location);
    offset = rangeEnd(status) ?? 0;
  }
  return location;
}

/** The next upload URL: `Location` resolved against the request URL, never rebuilt. */
function nextLocation(ctx: RepoContext, res: HttpResponse, base: URL): URL {
  const loc = res.headers.location;
  if (!loc) throw registryError('TB_REGISTRY_HTTP', `${where(ctx.registry, ctx.repository)}: upload answered ${res.status} without a Location`);
  const url = new URL(loc, base);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw registryError('TB_REGISTRY_HTTP', `${where(ctx.registry, ctx.repository)}: upload Location with scheme ${url.protocol}`);
  }
  return url;
}

/** `Range: 0-N` (bytes received so far) -> the next offset N+1; an empty upload has no Range. */
function rangeEnd(res: HttpResponse): number | undefined {
  const m = /(\d+)-(\d+)/.exec(String(res.headers.range ?? ''));
  return m ? Number(m[2]) + 1 : undefined;
}

function withDigest(location: URL, digest: string): URL {
  const url = new URL(location.href);
  // Appending by hand keeps the registry's own query string byte for byte.
  url.search = (location.search ? location.search + '&' : '?') + 'digest=' + encodeURIComponent(digest);
  return url;
}
