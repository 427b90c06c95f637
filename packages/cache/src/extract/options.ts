/** Budgets that bound what one archive may cost (bombs, DoS). Defaults suit real base images. */
export interface ExtractLimits {
  /** Entries in the archive, including directories and whiteouts. */
  maxEntries: number;
  /** Bytes of the uncompressed tar stream (file data, headers and padding). */
  maxBytes: number;
  /** Bytes of one entry path or link target (Linux PATH_MAX). */
  maxPathBytes: number;
  /** Symlinks followed while resolving one parent path inside the root (Linux uses 40). */
  maxSymlinkHops: number;
}

export const DEFAULT_LIMITS: ExtractLimits = {
  maxEntries: 4_000_000,
  maxBytes: 32 * 1024 ** 3,
  maxPathBytes: 4096,
  maxSymlinkHops: 40,
};

/**
 * How extractTar writes an archive.
 *
 * - `format: 'overlay'` (default) writes a layer snapshot for stacking as an overlay lowerdir:
 *   `.wh.x` becomes a 0/0 char device `x`, `.wh..wh..opq` the xattr trusted.overlay.opaque=y on
 *   its directory. Needs root (mknod, trusted.* xattrs). The destination should be empty.
 * - `format: 'plain'` applies the archive onto an existing tree (ADD x.tar): whiteouts delete
 *   what they name, opaque markers empty the directory of entries not from this archive.
 */
export interface ExtractOptions {
  format?: 'overlay' | 'plain';
  /** `auto` (default) sniffs gzip/zstd magic bytes; anything else is read as plain tar. */
  compression?: 'auto' | 'gzip' | 'zstd' | 'none';
  /** sha256 of the uncompressed stream the archive must hash to (a layer's diffID). */
  expectedDiffId?: string;
  limits?: Partial<ExtractLimits>;
  /** Apply the archive's uid/gid (default: when running as root). */
  sameOwner?: boolean;
  /**
   * A name whose `..` climbs above the root (`a/../../x`): refuse the archive (default, as for
   * layers), or stop at the root (ADD, where BuildKit extracts chrooted into the destination).
   */
  aboveRoot?: 'refuse' | 'clamp';
  /** Device nodes: create them (default when root), or skip and report them in `skipped`. */
  devices?: 'create' | 'skip';
}

/** What an extraction did; `diffId` is the sha256 of the uncompressed tar stream. */
export interface ExtractStats {
  diffId: string;
  bytes: number;
  entries: number;
  files: number;
  dirs: number;
  symlinks: number;
  hardlinks: number;
  devices: number;
  whiteouts: number;
  opaques: number;
  /** Entries or attributes not materialised, with the reason (e.g. devices when rootless). */
  skipped: Array<{ path: string; reason: string }>;
}
