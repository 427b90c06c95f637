import { BuildError } from '@tbuild/errors';
import { isDigest } from '../digest.ts';
import { DOCKER_LAYER, DOCKER_LAYER_GZIP, OCI_LAYER, OCI_LAYER_GZIP } from '../media-types.ts';
import type { CacheMode } from './spec.ts';

/** Media type of the cache config blob an exported cache index points at (docs/remote-cache.md). */
export const CACHE_CONFIG_MEDIA_TYPE = 'application/vnd.tbuild.cache.config.v1+json';
/** The image-config field that holds an inline cache (`--cache-to type=inline`). */
export const INLINE_CACHE_FIELD = 'tbuild.cache.v1';
export const CACHE_FORMAT_VERSION = 'tbuild-cache-v1';

/** Caches larger than this are refused rather than parsed (a cache config is hostile input). */
export const MAX_CACHE_CONFIG_BYTES = 16 * 1024 * 1024;
const MAX_RECORDS = 100_000;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

// Only layer formats tbuild can unpack and verify; a zstd layer could never be used.
const LAYER_TYPES = new Set([OCI_LAYER, OCI_LAYER_GZIP, DOCKER_LAYER, DOCKER_LAYER_GZIP]);

/** A layer blob of an exported cache: its compressed digest and size, and the uncompressed tar's diffID. */
export interface CacheLayer {
  digest: string;
  diffId: string;
  size: number;
  mediaType: string;
}

/**
 * One exported step: its cache key, the key of the state it ran on (`parent`, informational:
 * the key already covers it), the layer it produced as an index into `layers` (absent for an
 * empty diff), when it first ran (`created`, ISO-8601: image history uses it, so an image
 * rebuilt from the cache has the exporter's image ID), and where it came from for `cache ls`.
 */
export interface CacheRecord {
  key: string;
  parent?: string;
  layer?: number;
  created?: string;
  stage?: string;
  line?: number;
  text?: string;
}

/** The cache config blob: records keyed by cache key, the layers they point at, and the export mode. */
export interface CacheConfig {
  version: typeof CACHE_FORMAT_VERSION;
  mode: CacheMode;
  layers: CacheLayer[];
  records: CacheRecord[];
}

function bad(what: string, why: string): never {
  throw new BuildError({ code: 'TB_CACHE_REMOTE_INVALID', message: `${what}: ${why}`, hint: 're-export the cache with this tbuild version' });
}

/**
 * Parses and checks a cache config (from a registry, a shared directory or an image config).
 * Everything a lookup relies on is validated here: digests, layer media types, layer indexes
 * in range, one record per key. Unknown fields are ignored.
 */
export function parseCacheConfig(data: Buffer | unknown, what: string): CacheConfig {
  let v: unknown = data;
  if (Buffer.isBuffer(data)) {
    if (data.length > MAX_CACHE_CONFIG_BYTES) bad(what, `cache config of ${data.length} bytes exceeds the ${MAX_CACHE_CONFIG_BYTES} byte limit`);
    try {
      v = JSON.parse(data.toString('utf8'));
    } catch (e) {
      bad(what, `cache config is not JSON (${(e as Error).message})`);
    }
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) bad(what, 'cache config is not a JSON object');
  const c = v as Record<string, unknown>;
  if (c.version !== CACHE_FORMAT_VERSION) bad(what, `unsupported cache format ${JSON.stringify(c.version)} (expected ${CACHE_FORMAT_VERSION})`);
  if (c.mode !== 'min' && c.mode !== 'max') bad(what, `invalid mode ${JSON.stringify(c.mode)}`);
  if (!Array.isArray(c.layers) || !Array.isArray(c.records)) bad(what, 'cache config without layers and records arrays');
  if (c.records.length > MAX_RECORDS || c.layers.length > MAX_RECORDS) bad(what, `more than ${MAX_RECORDS} records or layers`);
  const layers = c.layers.map((l: unknown, i): CacheLayer => {
    const x = (l ?? {}) as Record<string, unknown>;
    if (!isDigest(String(x.digest)) || !isDigest(String(x.diffId))) bad(what, `layers[${i}] has an invalid digest or diffId`);
    if (!Number.isSafeInteger(x.size) || (x.size as number) < 0) bad(what, `layers[${i}] has an invalid size`);
    if (typeof x.mediaType !== 'string' || !LAYER_TYPES.has(x.mediaType)) bad(what, `layers[${i}] has unsupported media type ${JSON.stringify(x.mediaType)}`);
    return { digest: x.digest as string, diffId: x.diffId as string, size: x.size as number, mediaType: x.mediaType };
  });
  const seen = new Set<string>();
  const records = c.records.map((r: unknown, i): CacheRecord => {
    const x = (r ?? {}) as Record<string, unknown>;
    if (typeof x.key !== 'string' || !isDigest(x.key)) bad(what, `records[${i}] has an invalid key`);
    if (seen.has(x.key)) bad(what, `records[${i}]: key ${x.key} appears twice`);
    seen.add(x.key);
    if (x.parent !== undefined && (typeof x.parent !== 'string' || !isDigest(x.parent))) bad(what, `records[${i}] has an invalid parent key`);
    if (x.layer !== undefined && !(Number.isSafeInteger(x.layer) && (x.layer as number) >= 0 && (x.layer as number) < layers.length)) {
      bad(what, `records[${i}] points at layer ${String(x.layer)} of ${layers.length}`);
    }
    return {
      key: x.key,
      ...(x.parent !== undefined ? { parent: x.parent as string } : {}),
      ...(x.layer !== undefined ? { layer: x.layer as number } : {}),
      ...(typeof x.created === 'string' && ISO_TIME.test(x.created) ? { created: x.created } : {}),
      ...(typeof x.stage === 'string' ? { stage: x.stage.slice(0, 200) } : {}),
      ...(Number.isSafeInteger(x.line) ? { line: x.line as number } : {}),
      ...(typeof x.text === 'string' ? { text: x.text.slice(0, 4096) } : {}),
    };
  });
  return { version: CACHE_FORMAT_VERSION, mode: c.mode, layers, records };
}

/** What an exporter knows of one step: its key, its parent's key, the layer it made and where it is written. */
export interface CacheEntry {
  key: string;
  parent?: string;
  layer?: CacheLayer;
  created?: string;
  stage?: string;
  line?: number;
  text?: string;
}

/** Builds a cache config from entries (deduplicated by key, layers by digest), in a stable order so equal caches have equal digests. */
export function buildCacheConfig(entries: CacheEntry[], mode: CacheMode): CacheConfig {
  const layers: CacheLayer[] = [];
  const layerIndex = new Map<string, number>();
  const records = new Map<string, CacheRecord>();
  for (const e of entries) {
    if (records.has(e.key)) continue;
    let layer: number | undefined;
    if (e.layer) {
      layer = layerIndex.get(e.layer.digest);
      if (layer === undefined) {
        layer = layers.length;
        layerIndex.set(e.layer.digest, layer);
        layers.push({ digest: e.layer.digest, diffId: e.layer.diffId, size: e.layer.size, mediaType: e.layer.mediaType });
      }
    }
    records.set(e.key, {
      key: e.key,
      ...(e.parent ? { parent: e.parent } : {}),
      ...(layer !== undefined ? { layer } : {}),
      ...(e.created !== undefined ? { created: e.created } : {}),
      ...(e.stage !== undefined ? { stage: e.stage } : {}),
      ...(e.line !== undefined ? { line: e.line } : {}),
      ...(e.text !== undefined ? { text: e.text } : {}),
    });
  }
  return { version: CACHE_FORMAT_VERSION, mode, layers, records: [...records.values()] };
}
