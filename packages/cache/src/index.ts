export { extractTar } from './extract/extract-tar.ts';
export type { ExtractOptions, ExtractStats, ExtractLimits } from './extract/options.ts';
export { DEFAULT_LIMITS } from './extract/options.ts';
export { isSha256Digest, sha256Digest } from './digest.ts';
export type { CacheErrorCode } from './errors.ts';
