// The planner owns this shape (what its injected ContextHasher is asked for); this package implements the hasher.
import type { ContextSelection } from '@tbuild/planner';
export type { ContextSelection };

/** A selection's digest (ContextHasher.digest) with the listing it was taken over. */
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
  /** Node's float milliseconds, from the same lstat as the rest. */
  mtimeMs: number;
  linkTarget?: string;
  /** Named or matched by a source itself, not found inside a directory source (ADD unpacks only these). */
  direct?: true;
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
  /** Selections whose digest came from the stat cache's record of them, every entry unchanged (BuildContext.digest). */
  selectionHits: number;
  /** Selections whose digest came from the stat cache's record of the whole context tree, unchanged since (a scan of it, BuildContext.digest). */
  treeHits: number;
  /** Content hashes reused within this build (a file used by several steps). */
  memoryHits: number;
  /** lstat calls that reached the disk. */
  lstatCalls: number;
  /**
   * What came from the last build of this context in the same process (BuildContextOptions.memo):
   * nothing, unchanged listings and hashes, or, with no entry changed, every digest as it was.
   */
  recalled: 'none' | 'partial' | 'whole';
}
