import { mapLimit } from '../map-limit.ts';
import type { RegistryClient } from '../registry-client.ts';
import type { BlobStore } from '../store-port.ts';
import type { UploadOutcome } from '../blob-upload.ts';
import { buildCacheConfig, INLINE_CACHE_FIELD, type CacheEntry, type CacheLayer } from './cache-config.ts';
import { cacheLocation } from './remote-cache.ts';
import type { CacheExportSpec } from './spec.ts';

/** What an export did: where the cache index went, how many records and layers it lists, and how each layer got there. */
export interface CacheExportResult {
  location: string;
  digest: string;
  records: number;
  layers: number;
  /** Layers sent in this export; `existing` were already there (a re-export sends none). */
  uploaded: number;
  existing: number;
}

/**
 * Exports `entries` (already chosen for the mode) to a registry or directory: layers first,
 * each skipped when the location already holds it, then the cache index. A layer that is not
 * in the local store (a remote hit nothing needed to download) is fetched through
 * `ensureLocal` only if the location lacks it.
 */
export async function exportCache(
  spec: Exclude<CacheExportSpec, { type: 'inline' }>,
  entries: CacheEntry[],
  opts: { client: RegistryClient; store: BlobStore; ensureLocal?: (layer: CacheLayer) => Promise<void> },
): Promise<CacheExportResult> {
  const location = cacheLocation(spec, opts.client);
  const config = buildCacheConfig(entries, spec.mode);
  const outcomes = await mapLimit(config.layers, opts.client.concurrency, async (layer): Promise<UploadOutcome> => {
    const desc = { mediaType: layer.mediaType, digest: layer.digest, size: layer.size };
    if (!(await opts.store.hasBlob(layer.digest))) {
      if (await location.hasBlob(layer.digest)) return 'exists';
      if (!opts.ensureLocal) throw new Error(`exportCache: layer ${layer.digest} is neither local nor at ${location.name}`);
      await opts.ensureLocal(layer);
    }
    return location.putBlob(desc, opts.store);
  });
  const saved = await location.save(config, opts.store);
  return {
    location: location.name,
    digest: saved.digest,
    records: config.records.length,
    layers: config.layers.length,
    uploaded: outcomes.filter((o) => o !== 'exists').length,
    existing: outcomes.filter((o) => o === 'exists').length,
  };
}

/** An image config carrying `entries` as an inline cache (`--cache-to type=inline`, min mode). */
export function withInlineCache<T extends object>(imageConfig: T, entries: CacheEntry[]): T {
  return { ...imageConfig, [INLINE_CACHE_FIELD]: buildCacheConfig(entries, 'min') };
}
