export type { CacheMode, CacheExportSpec, CacheImportSpec } from './spec.ts';
export { parseCacheExport, parseCacheImport, describeCacheSource } from './spec.ts';
export type { CacheConfig, CacheRecord, CacheLayer, CacheEntry } from './cache-config.ts';
export { CACHE_CONFIG_MEDIA_TYPE, INLINE_CACHE_FIELD, parseCacheConfig, buildCacheConfig } from './cache-config.ts';
export type { CacheLocation } from './location.ts';
export type { RemoteHit, LoadedCache } from './remote-cache.ts';
export { RemoteCache, cacheLocation } from './remote-cache.ts';
export type { CacheExportResult } from './export-cache.ts';
export { exportCache, withInlineCache } from './export-cache.ts';
