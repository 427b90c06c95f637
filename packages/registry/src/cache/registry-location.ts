import { BuildError, isBuildError } from '@tbuild/errors';
import { sha256 } from '../digest.ts';
import { parseConfig } from '../documents.ts';
import { registryError, where } from '../errors.ts';
import { readBody } from '../http.ts';
import { OCI_INDEX, OCI_MANIFEST } from '../media-types.ts';
import { hostPlatform, selectManifest } from '../platform.ts';
import { parseRef } from '../reference.ts';
import type { RegistryClient } from '../registry-client.ts';
import { pullScope, type RepoContext } from '../scopes.ts';
import type { BlobStore } from '../store-port.ts';
import type { Descriptor } from '../types.ts';
import { uploadBlob, type UploadOutcome } from '../blob-upload.ts';
import { MAX_CACHE_CONFIG_BYTES, parseCacheConfig, type CacheConfig } from './cache-config.ts';
import { cacheHolder, encodeCacheIndex, encodeCacheManifest, inlineCacheOf } from './cache-index.ts';
import type { CacheLocation } from './location.ts';

/**
 * A cache in a registry repository: `ref` names a cache index (or an image whose config carries
 * an inline cache). Blobs come from and go to the same repository; every one is verified by
 * digest on the way in (RegistryClient.fetchBlob).
 */
export class RegistryCacheLocation implements CacheLocation {
  readonly name: string;
  private readonly ctx: RepoContext;
  private readonly reference: string;

  constructor(
    private readonly client: RegistryClient,
    ref: string,
    private readonly opts: { imageManifest?: boolean } = {},
  ) {
    const r = parseRef(ref);
    this.name = ref;
    this.ctx = { registry: r.registry, repository: r.repository };
    this.reference = r.digest ?? r.tag ?? 'latest';
  }

  async load(): Promise<CacheConfig | undefined> {
    let got;
    try {
      got = await this.client.getManifest(this.ctx, this.reference);
    } catch (e) {
      // No cache yet is the normal first run of a CI pipeline, not an error.
      if (isBuildError(e) && e.code === 'TB_REGISTRY_NOT_FOUND') return undefined;
      throw e;
    }
    let holder = cacheHolder(got.doc);
    if (holder.kind === 'image-index' && got.doc.kind === 'index') {
      const choice = selectManifest(got.doc.index.manifests, hostPlatform());
      if (!choice) return undefined;
      holder = cacheHolder((await this.client.getManifest(this.ctx, choice.digest)).doc);
    }
    if (holder.kind === 'none' || holder.kind === 'image-index') return undefined;
    const what = `cache ${this.name}`;
    const bytes = await this.readSmallBlob(holder.desc);
    if (holder.kind === 'config') return parseCacheConfig(bytes, what);
    const inline = inlineCacheOf(parseConfig(bytes, what), what);
    if (!inline) {
      throw new BuildError({ code: 'TB_CACHE_REMOTE_NOT_FOUND', message: `${this.name} is an image without an inline cache`, hint: 'build and push it with --cache-to type=inline, or export a cache with --cache-to type=registry' });
    }
    return inline;
  }

  /** GETs a small blob (a config) into memory, capped and checked against its digest. */
  private async readSmallBlob(desc: Descriptor): Promise<Buffer> {
    const op = `GET blob ${desc.digest}`;
    if (desc.size > MAX_CACHE_CONFIG_BYTES) throw registryError('TB_REGISTRY_TOO_LARGE', `${where(this.ctx.registry, this.ctx.repository)}: config ${desc.digest} is ${desc.size} bytes`);
    const res = await this.client.request(this.ctx, { method: 'GET', url: this.client.repoUrl(this.ctx, `blobs/${desc.digest}`) }, [pullScope(this.ctx)]);
    if (res.status !== 200) throw await this.client.failure(this.ctx, res, op);
    const bytes = await readBody(res, MAX_CACHE_CONFIG_BYTES, `${where(this.ctx.registry, this.ctx.repository)}: ${op}`);
    if (sha256(bytes) !== desc.digest) {
      throw registryError('TB_REGISTRY_DIGEST_MISMATCH', `${where(this.ctx.registry, this.ctx.repository)}: config ${desc.digest} arrived with digest ${sha256(bytes)}`, {
        hint: 'the registry or something between it and tbuild altered the content',
      });
    }
    return bytes;
  }

  fetchBlob(desc: Descriptor, store: BlobStore): Promise<void> {
    return this.client.fetchBlob(this.ctx, desc, store);
  }

  hasBlob(digest: string): Promise<boolean> {
    return this.client.hasBlob(this.ctx, digest);
  }

  putBlob(desc: Descriptor, store: BlobStore): Promise<UploadOutcome> {
    // Other repositories of this registry known to hold the blob (an import from there) are mount sources.
    const mountFrom = [...(this.client.knownBlobs.get(desc.digest) ?? [])]
      .filter((k) => k.startsWith(this.ctx.registry + '/'))
      .map((k) => k.slice(this.ctx.registry.length + 1))
      .filter((repo) => repo !== this.ctx.repository);
    return uploadBlob(this.client, this.ctx, desc, store, mountFrom);
  }

  async save(config: CacheConfig, store: BlobStore): Promise<{ digest: string }> {
    const enc = this.opts.imageManifest ? { ...encodeCacheManifest(config), mediaType: OCI_MANIFEST } : { ...encodeCacheIndex(config), mediaType: OCI_INDEX };
    // uploadBlob streams from the store: the small config goes there first (gc drops it later).
    await store.writeBlob(enc.configBytes, { digest: enc.configDesc.digest, size: enc.configDesc.size });
    await uploadBlob(this.client, this.ctx, enc.configDesc, store);
    const bytes = 'manifestBytes' in enc ? enc.manifestBytes : enc.indexBytes;
    const digest = await this.client.putManifest(this.ctx, this.reference, bytes, enc.mediaType);
    return { digest };
  }
}
