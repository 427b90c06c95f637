export type { Descriptor, Platform, ImageManifest, ImageIndex, ImageConfig, ContainerConfig, HistoryEntry } from './types.ts';
export {
  OCI_MANIFEST,
  OCI_INDEX,
  OCI_CONFIG,
  OCI_LAYER,
  OCI_LAYER_GZIP,
  OCI_LAYER_ZSTD,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  DOCKER_CONFIG,
  DOCKER_LAYER,
  DOCKER_LAYER_GZIP,
  DOCKER_FOREIGN_LAYER,
  MANIFEST_ACCEPT,
  isIndexMediaType,
  isManifestMediaType,
  isGzipLayer,
} from './media-types.ts';
export type { ImageRef } from './reference.ts';
export { parseRef, normalizeRef, formatRef, familiarRef, familiarName, DOCKER_HUB } from './reference.ts';
export { canonicalJson, sha256, isDigest } from './digest.ts';
export { hostPlatform, normalizePlatform, parsePlatform, formatPlatform, platformMatches, selectManifest } from './platform.ts';
export type { ParsedDocument } from './documents.ts';
export { parseDocument, parseConfig, MAX_MANIFEST_BYTES } from './documents.ts';
export type { BlobStore } from './store-port.ts';
export type { PutImageInput, StoredImage, ImageSummary, HistoryRow } from './image-store.ts';
export {
  IMAGE_REF_PREFIX,
  putImage,
  getImage,
  findImage,
  readImage,
  tagImage,
  removeImage,
  listImages,
  imageRefs,
  inspectImage,
  imageHistory,
} from './image-store.ts';
export { saveArchive } from './archive-save.ts';
export type { LoadedImage } from './archive-load.ts';
export { loadArchive } from './archive-load.ts';
export type { Credentials, CredentialSource } from './credentials.ts';
export { dockerConfigCredentials } from './credentials.ts';
export { parseChallenges } from './auth.ts';
export type { RegistryClientOptions, BlobProgress } from './registry-client.ts';
export { RegistryClient } from './registry-client.ts';
export { DEFERRED_CA_ENV, extraCaOptions } from './extra-ca.ts';
export type { RepoContext } from './scopes.ts';
export type { PullResult } from './pull.ts';
export type { PushResult } from './push.ts';
export type { UploadOutcome } from './blob-upload.ts';
export type { ImageResolver, ResolvedImage, PullPolicy } from './resolver.ts';
export { createImageResolver } from './resolver.ts';
export type { RegistryErrorCode } from './errors.ts';
export type { CacheMode, CacheExportSpec, CacheImportSpec, CacheConfig, CacheRecord, CacheLayer, CacheEntry, CacheLocation, RemoteHit, LoadedCache, CacheExportResult } from './cache/index.ts';
export {
  parseCacheExport,
  parseCacheImport,
  describeCacheSource,
  CACHE_CONFIG_MEDIA_TYPE,
  INLINE_CACHE_FIELD,
  parseCacheConfig,
  buildCacheConfig,
  RemoteCache,
  cacheLocation,
  exportCache,
  withInlineCache,
} from './cache/index.ts';
