import type fsSync from 'node:fs';

/** What a copy gives a regular file, every field a layer header or a later RUN's stat reads of it. */
export interface WrittenFile {
  size: number;
  /** To the millisecond, as copies set it (copy-pool.ts, cutMtimeMs). */
  mtimeMs: number;
  uid: number;
  gid: number;
  /** Permission bits. */
  mode: number;
}

/**
 * A file's metadata as one string, kept in a COPY's donor note beside the file's digest
 * (scheduler/copy-donor.ts): the next build compares it with what a copy would write now instead
 * of an lstat of the stored file (20,000 lstat calls, 0.35-0.45 s of an edit of the benchmark's
 * 20,000-file context), since nothing writes a store snapshot once it is made.
 */
export function fileRecord(w: WrittenFile): string {
  return `${w.size}:${w.mtimeMs}:${w.uid}:${w.gid}:${w.mode.toString(8)}`;
}

const S_IFREG = 0o100000n;

/**
 * The lstat a layer's walk takes for a moved file that fileRecord `w` describes (layer/upper-walk.ts,
 * `known`): a regular file with one link, as every file a copy writes is.
 */
export function recordedStat(w: WrittenFile): fsSync.BigIntStats {
  const stat = {
    size: BigInt(w.size),
    mode: S_IFREG | BigInt(w.mode),
    uid: BigInt(w.uid),
    gid: BigInt(w.gid),
    mtimeNs: BigInt(w.mtimeMs) * 1_000_000n,
    nlink: 1n,
    rdev: 0n,
    dev: 0n,
    ino: 0n,
    isFile: () => true,
    isDirectory: () => false,
    isSymbolicLink: () => false,
    isSocket: () => false,
    isCharacterDevice: () => false,
  };
  return stat as unknown as fsSync.BigIntStats;
}
