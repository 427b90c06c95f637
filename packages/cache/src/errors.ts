import { BuildError } from '@tbuild/errors';

/**
 * Error codes the cache raises. Stable strings: the CLI and other packages match on them.
 *
 * - TB_CACHE_LAYER_INVALID: a layer (or ADD tarball) breaks a safety rule; the layer is refused
 * - TB_CACHE_BUDGET_EXCEEDED: an archive exceeds an entry/byte/path budget (bombs)
 * - TB_CACHE_DIGEST_MISMATCH / TB_CACHE_SIZE_MISMATCH: written content is not what the descriptor said
 * - TB_CACHE_DIFFID_MISMATCH: the uncompressed layer does not hash to the config's diffID
 * - TB_CACHE_CORRUPT: stored content no longer matches its digest (disk corruption, tampering)
 * - TB_CACHE_BLOB_NOT_FOUND: a blob the caller asked for is not in the store
 * - TB_CACHE_SNAPSHOT_NOT_FOUND: the snapshot of an unsealed layer (which has no blob) is gone
 * - TB_CACHE_LAYOUT_TOO_NEW / TB_CACHE_LAYOUT_INVALID: the store root was written by a newer or foreign tool
 * - TB_CACHE_NEEDS_ROOT: the operation needs privileges this process lacks (mknod for whiteouts)
 * - TB_CACHE_CROSS_DEVICE: a directory to adopt is on another filesystem than the store
 * - TB_CACHE_IO: the filesystem refused an operation (permissions, missing helper)
 * - TB_CACHE_NO_SPACE: the store's filesystem is full (ENOSPC) or over quota (EDQUOT)
 */
export type CacheErrorCode =
  | 'TB_CACHE_LAYER_INVALID'
  | 'TB_CACHE_BUDGET_EXCEEDED'
  | 'TB_CACHE_DIGEST_MISMATCH'
  | 'TB_CACHE_SIZE_MISMATCH'
  | 'TB_CACHE_DIFFID_MISMATCH'
  | 'TB_CACHE_CORRUPT'
  | 'TB_CACHE_BLOB_NOT_FOUND'
  | 'TB_CACHE_SNAPSHOT_NOT_FOUND'
  | 'TB_CACHE_LAYOUT_TOO_NEW'
  | 'TB_CACHE_LAYOUT_INVALID'
  | 'TB_CACHE_NEEDS_ROOT'
  | 'TB_CACHE_CROSS_DEVICE'
  | 'TB_CACHE_IO'
  | 'TB_CACHE_NO_SPACE';

export function cacheError(code: CacheErrorCode, message: string, opts: { hint?: string; cause?: unknown; details?: string[] } = {}): BuildError {
  return new BuildError(
    { code, message, ...(opts.hint ? { hint: opts.hint } : {}), ...(opts.details ? { details: opts.details } : {}) },
    opts.cause === undefined ? undefined : { cause: opts.cause },
  );
}

/** A user-visible complaint about one archive entry; `entry` is quoted so odd names stay readable. */
export function layerInvalid(entry: string, why: string, hint?: string): BuildError {
  return cacheError('TB_CACHE_LAYER_INVALID', `unsafe layer entry ${JSON.stringify(entry)}: ${why}`, hint ? { hint } : {});
}

/**
 * A full disk is the user's to fix, not a tbuild bug: ENOSPC/EDQUOT become one line naming the
 * store (`no space left on /var/lib/tbuild`); any other error is returned unchanged.
 */
export function noSpaceError(e: unknown, root: string): unknown {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return e;
  return cacheError('TB_CACHE_NO_SPACE', `no space left on ${root}`, { cause: e });
}
