import { BuildError } from '@tbuild/errors';
import { canonicalJson, sha256 } from '../digest.ts';
import type { ParsedDocument } from '../documents.ts';
import { isManifestMediaType, OCI_INDEX, OCI_MANIFEST } from '../media-types.ts';
import type { Descriptor, ImageConfig } from '../types.ts';
import { CACHE_CONFIG_MEDIA_TYPE, INLINE_CACHE_FIELD, parseCacheConfig, type CacheConfig } from './cache-config.ts';

const BUILDKIT_CACHE_CONFIG = 'application/vnd.buildkit.cacheconfig.v0';

/** Annotation on the cache index naming its export mode (read by humans and `cache ls`). */
export const MODE_ANNOTATION = 'dev.tbuild.cache.mode';

/** The bytes of a cache config and of the OCI index that points at it and at every layer (so registries keep the layers). */
export function encodeCacheIndex(config: CacheConfig): { configBytes: Buffer; configDesc: Descriptor; indexBytes: Buffer; indexDigest: string } {
  const configBytes = Buffer.from(canonicalJson(config));
  const configDesc: Descriptor = { mediaType: CACHE_CONFIG_MEDIA_TYPE, digest: sha256(configBytes), size: configBytes.length };
  const index = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [...config.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })), configDesc],
    annotations: { [MODE_ANNOTATION]: config.mode },
  };
  const indexBytes = Buffer.from(canonicalJson(index));
  return { configBytes, configDesc, indexBytes, indexDigest: sha256(indexBytes) };
}

/**
 * The same cache as an image manifest whose config is the cache config (BuildKit's
 * `image-manifest=true`), for registries that accept only manifests of known shapes.
 */
export function encodeCacheManifest(config: CacheConfig): { configBytes: Buffer; configDesc: Descriptor; manifestBytes: Buffer } {
  const { configBytes, configDesc } = encodeCacheIndex(config);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: CACHE_CONFIG_MEDIA_TYPE,
    config: configDesc,
    layers: config.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    annotations: { [MODE_ANNOTATION]: config.mode },
  };
  return { configBytes, configDesc, manifestBytes: Buffer.from(canonicalJson(manifest)) };
}

/** Where a fetched document keeps its cache: a cache index's config blob, a manifest whose config is one, or an image config (inline). */
export type CacheHolder = { kind: 'config'; desc: Descriptor } | { kind: 'image-config'; desc: Descriptor } | { kind: 'image-index' } | { kind: 'none' };

/** Classifies a manifest or index fetched from a cache location. */
export function cacheHolder(doc: ParsedDocument): CacheHolder {
  if (doc.kind === 'index') {
    const configs = doc.index.manifests.filter((m) => m.mediaType === CACHE_CONFIG_MEDIA_TYPE);
    if (configs.length > 1) throw new BuildError({ code: 'TB_CACHE_REMOTE_INVALID', message: 'cache index names more than one cache config' });
    if (configs[0]) return { kind: 'config', desc: configs[0] };
    if (doc.index.manifests.some((m) => m.mediaType === BUILDKIT_CACHE_CONFIG)) {
      throw new BuildError({ code: 'TB_CACHE_REMOTE_INVALID', message: 'this is a BuildKit cache; tbuild reads only caches it exported (its keys are computed differently)', hint: 'export a tbuild cache to another tag' });
    }
    return doc.index.manifests.some((m) => isManifestMediaType(m.mediaType)) ? { kind: 'image-index' } : { kind: 'none' };
  }
  // BuildKit's image-manifest=true layout: the cache config is the manifest's config.
  if (doc.manifest.config.mediaType === CACHE_CONFIG_MEDIA_TYPE) return { kind: 'config', desc: doc.manifest.config };
  return { kind: 'image-config', desc: doc.manifest.config };
}

/** The inline cache of an image config, or undefined when it has none. */
export function inlineCacheOf(config: ImageConfig | Record<string, unknown>, what: string): CacheConfig | undefined {
  const raw = (config as Record<string, unknown>)[INLINE_CACHE_FIELD];
  return raw === undefined ? undefined : parseCacheConfig(raw, `${what} (inline cache)`);
}
