/**
 * What one COPY/ADD reads from the build context. The planner builds it from the instruction;
 * the same value is given to `BuildContext.hash` (cache key) and `BuildContext.select`
 * (executor), so what is hashed is exactly what is copied.
 */
export interface ContextSelection {
  /**
   * Sources relative to the context root after variable expansion; may contain Go
   * filepath.Match wildcards. Leading `/` and `..` never leave the root. With `parents`, a
   * `/./` pivot marks where the kept path starts, so do not clean sources before passing them.
   */
  sources: string[];
  /** `COPY --exclude` patterns, matched against paths relative to each copied source. */
  excludes: string[];
  /** `COPY --parents`: keep each match's path (below an optional `/./` pivot). */
  parents: boolean;
  /**
   * Dereference a source that is itself a symlink (inside the context). Default true, as
   * BuildKit's Dockerfile frontend does; symlinks found inside copied directories are always
   * copied as symlinks.
   */
  followSymlinks?: boolean;
}

/** The cache-key input for one selection. */
export interface ContextDigest {
  /** `sha256:<hex>` over the canonical listing (path, type, mode, owner, link target, content). */
  digest: string;
  /**
   * One record per selected entry, sorted by `path` (the context-relative path, code-unit
   * order); `digest` (`xxh64:`) covers the entry's type, mode, owner, link target and content.
   */
  files: Array<{ path: string; digest: string }>;
}

/** One entry COPY writes, in copy order (each directory before its contents). */
export interface SelectedFile {
  /** The source pattern (as given in ContextSelection.sources) it came from. */
  source: string;
  /** Path relative to the context root (after resolving symlinks in the source path). */
  relPath: string;
  /**
   * Where it lands relative to the COPY destination: a directory source contributes its
   * contents (`dir/a/b` → `a/b`), a file keeps its base name (the name of the source as written,
   * even when that is a symlink to another file), and with `parents` the path below the pivot.
   */
  destRel: string;
  /** Absolute path on disk; open it without following symlinks. */
  absPath: string;
  type: 'file' | 'dir' | 'symlink';
  /** Permission bits including setuid/setgid/sticky. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkTarget?: string;
}

/**
 * Where the stat cache lives between builds (the cache store provides it). `load` returns
 * what the last `save` stored, or undefined; corrupt data is ignored, never trusted.
 */
export interface StatCachePersistence {
  load(): Promise<Buffer | undefined>;
  save(data: Buffer): Promise<void>;
}

/** Counters for one BuildContext, so callers and tests can see what was read from disk. */
export interface ContextStats {
  /** Regular files whose contents were read and hashed. */
  filesHashed: number;
  bytesHashed: number;
  /** Content hashes taken from the persisted stat cache (file unchanged since last build). */
  statCacheHits: number;
  /** Content hashes reused within this build (a file used by several steps). */
  memoryHits: number;
  /** lstat calls that reached the disk. */
  lstatCalls: number;
}
