import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { BuildError, isBuildError } from '@tbuild/errors';
import { isGzipLayer } from '../media-types.ts';
import type { RegistryClient } from '../registry-client.ts';
import type { BlobStore } from '../store-port.ts';
import type { CacheConfig, CacheLayer, CacheRecord } from './cache-config.ts';
import { LocalCacheLocation } from './local-location.ts';
import type { CacheLocation } from './location.ts';
import { RegistryCacheLocation } from './registry-location.ts';
import type { CacheExportSpec, CacheImportSpec } from './spec.ts';

/** Opens the location a `--cache-from`/`--cache-to` value names (inline export has none). */
export function cacheLocation(spec: CacheImportSpec | Exclude<CacheExportSpec, { type: 'inline' }>, client: RegistryClient): CacheLocation {
  if (spec.type === 'registry') return new RegistryCacheLocation(client, spec.ref, { imageManifest: 'imageManifest' in spec && spec.imageManifest === true });
  return new LocalCacheLocation('src' in spec ? spec.src : spec.dest, spec.tag);
}

/** A remote cache entry found for a key the local planner computed: the layer it names may not be local yet. */
export interface RemoteHit {
  key: string;
  layer?: CacheLayer;
  record: CacheRecord;
  /** The cache it came from (a reference or a directory). */
  source: string;
}

/** One loaded cache, for `cache ls --from`. */
export interface LoadedCache {
  source: string;
  config: CacheConfig;
}

interface Source {
  location: CacheLocation;
  config: CacheConfig;
  byKey: Map<string, CacheRecord>;
}

/**
 * The caches named by `--cache-from`, loaded once per build: only their configs are read up
 * front; a layer is downloaded when `fetchLayer` is asked for it (a step that runs on top of
 * it, or an image that includes it). Lookups are by keys the local planner computed, so a
 * remote record can only ever answer for inputs identical to this build's. Downloaded layers
 * are verified twice: the blob by its digest, and the uncompressed tar by the diffID the
 * record claims (which ends up in image configs).
 */
export class RemoteCache {
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly verified = new Set<string>();

  private constructor(
    private readonly sources: Source[],
    private readonly onDownload?: (layer: CacheLayer, source: string) => void,
  ) {}

  /**
   * Loads every cache in order (earlier ones win a key). A cache that does not exist yet or
   * cannot be read is skipped with a warning (a CI run without a cache is still a build);
   * `strict` turns those into errors (for `cache ls --from`).
   */
  static async open(
    specs: CacheImportSpec[],
    opts: { client: RegistryClient; onWarning?: (message: string) => void; onDownload?: (layer: CacheLayer, source: string) => void; strict?: boolean },
  ): Promise<RemoteCache> {
    // Loaded side by side (each is a round trip or two), used in the order given.
    const loaded = await Promise.all(
      specs.map(async (spec): Promise<Source | undefined> => {
        const location = cacheLocation(spec, opts.client);
        let config: CacheConfig | undefined;
        try {
          config = await location.load();
          if (!config) throw new BuildError({ code: 'TB_CACHE_REMOTE_NOT_FOUND', message: `no tbuild cache at ${location.name} (nothing exported there yet)`, hint: 'export one with --cache-to' });
        } catch (e) {
          if (opts.strict || !isBuildError(e)) throw e;
          opts.onWarning?.(e.code === 'TB_CACHE_REMOTE_NOT_FOUND' ? `${e.message}; building without it` : `cache ${location.name} not used: ${e.message}`);
          return undefined;
        }
        return { location, config, byKey: new Map(config.records.map((r) => [r.key, r])) };
      }),
    );
    return new RemoteCache(
      loaded.filter((s): s is Source => s !== undefined),
      opts.onDownload,
    );
  }

  /** Caches that loaded, in `--cache-from` order. */
  loaded(): LoadedCache[] {
    return this.sources.map((s) => ({ source: s.location.name, config: s.config }));
  }

  lookup(key: string): RemoteHit | undefined {
    for (const s of this.sources) {
      const record = s.byKey.get(key);
      if (!record) continue;
      const layer = record.layer === undefined ? undefined : s.config.layers[record.layer];
      return { key, record, source: s.location.name, ...(layer ? { layer } : {}) };
    }
    return undefined;
  }

  /** The layer a loaded cache holds under this blob digest, if any. */
  layerOf(digest: string): CacheLayer | undefined {
    for (const s of this.sources) {
      const l = s.config.layers.find((x) => x.digest === digest);
      if (l) return l;
    }
    return undefined;
  }

  /**
   * Downloads a layer into the store unless it is there, once however many steps ask, and
   * checks its uncompressed content against the diffID the cache claims even when the blob was
   * already local (the claim ends up in image configs). Throws a BuildError on any mismatch.
   */
  fetchLayer(layer: CacheLayer, store: BlobStore): Promise<void> {
    if (this.verified.has(`${layer.digest} ${layer.diffId}`)) return Promise.resolve();
    let p = this.inflight.get(layer.digest);
    if (!p) {
      p = this.download(layer, store).finally(() => this.inflight.delete(layer.digest));
      this.inflight.set(layer.digest, p);
    }
    return p;
  }

  private async download(layer: CacheLayer, store: BlobStore): Promise<void> {
    const s = this.sources.find((x) => x.config.layers.some((l) => l.digest === layer.digest && l.diffId === layer.diffId));
    if (!s) throw new Error(`RemoteCache.fetchLayer: no loaded cache holds ${layer.digest}`);
    let downloaded = false;
    try {
      if (!(await store.hasBlob(layer.digest))) {
        await s.location.fetchBlob({ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }, store);
        downloaded = true;
      }
    } catch (e) {
      if (!isBuildError(e)) throw e;
      throw new BuildError(
        { code: e.code, message: `remote cache ${s.location.name}: layer ${layer.digest} rejected: ${e.message}`, hint: 'the cache was altered after it was exported; rebuild without --cache-from or export it again' },
        { cause: e },
      );
    }
    const diffId = await uncompressedDigest(store.blobPath(layer.digest), layer.mediaType);
    if (diffId !== layer.diffId) {
      throw new BuildError({
        code: 'TB_CACHE_DIFFID_MISMATCH',
        message: `remote cache ${s.location.name}: layer ${layer.digest} unpacks to ${diffId}, the cache claims ${layer.diffId}`,
        hint: 'the cache was altered after it was exported; rebuild without --cache-from or export it again',
      });
    }
    this.verified.add(`${layer.digest} ${layer.diffId}`);
    if (downloaded) this.onDownload?.(layer, s.location.name);
  }
}

async function uncompressedDigest(file: string, mediaType: string): Promise<string> {
  const hash = createHash('sha256');
  const consume = async (src: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of src) hash.update(chunk);
  };
  try {
    if (isGzipLayer(mediaType)) await pipeline(createReadStream(file), zlib.createGunzip(), consume);
    else await pipeline(createReadStream(file), consume);
  } catch (e) {
    // A blob that does not decompress cannot match any diffID.
    return `undecompressable (${(e as Error).message})`;
  }
  return `sha256:${hash.digest('hex')}`;
}
