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
 * `known`): a regular file with one link, as every file a copy writes is. Kept for every file a
 * rerun COPY moves (20,000 in an edit of the benchmark's context) until its layer is written, so
 * its fields are made when read, and its methods are shared.
 */
export function recordedStat(w: WrittenFile): fsSync.BigIntStats {
  return new RecordedStat(w) as unknown as fsSync.BigIntStats;
}

class RecordedStat {
  readonly #w: WrittenFile;
  constructor(w: WrittenFile) {
    this.#w = w;
  }
  get size(): bigint {
    return BigInt(this.#w.size);
  }
  get mode(): bigint {
    return S_IFREG | BigInt(this.#w.mode);
  }
  get uid(): bigint {
    return BigInt(this.#w.uid);
  }
  get gid(): bigint {
    return BigInt(this.#w.gid);
  }
  get mtimeNs(): bigint {
    return BigInt(this.#w.mtimeMs) * 1_000_000n;
  }
  get nlink(): bigint {
    return 1n;
  }
  get rdev(): bigint {
    return 0n;
  }
  get dev(): bigint {
    return 0n;
  }
  get ino(): bigint {
    return 0n;
  }
  isFile(): boolean {
    return true;
  }
  isDirectory(): boolean {
    return false;
  }
  isSymbolicLink(): boolean {
    return false;
  }
  isSocket(): boolean {
    return false;
  }
  isCharacterDevice(): boolean {
    return false;
  }
  isBlockDevice(): boolean {
    return false;
  }
  isFIFO(): boolean {
    return false;
  }
}
