/**
 * The persisted stat cache: context path → (stat fingerprint, content hash). A file whose
 * size, mtime, inode, mode, owner and ctime are unchanged keeps its content hash without being
 * read. ctime and inode catch what size+mtime miss (an edit with the mtime set back, a file
 * replaced by another of the same size and mtime).
 *
 * Binary format, little-endian: "TBSC" u8 version u32 count, then per entry
 * u32 pathBytes, path (UTF-8), u64 fingerprint, u64 contentHash, u8 age.
 */
const MAGIC = 'TBSC';
const VERSION = 1;
/** Entries not seen for this many builds are dropped (their files may be long gone). */
export const MAX_AGE = 16;

interface Entry {
  fp: bigint;
  hash: bigint;
  age: number;
}

/** What a build learned about an entry it did not touch, for dropping stale ones. */
export type Freshness = 'unknown' | 'same' | 'changed';

export class StatCache {
  private readonly old: Map<string, Entry>;
  private readonly fresh = new Map<string, Entry>();
  /** True when hashes were recorded since the last encode. */
  dirty = false;

  private constructor(old: Map<string, Entry>) {
    this.old = old;
  }

  static empty(): StatCache {
    return new StatCache(new Map());
  }

  /** Decodes persisted data; anything malformed yields an empty cache (never a wrong hash). */
  static decode(data: Buffer | undefined): StatCache {
    const map = new Map<string, Entry>();
    if (!data || data.length < 9 || data.toString('latin1', 0, 4) !== MAGIC || data[4] !== VERSION) {
      return StatCache.empty();
    }
    const count = data.readUInt32LE(5);
    let off = 9;
    for (let i = 0; i < count; i++) {
      if (off + 4 > data.length) return StatCache.empty();
      const len = data.readUInt32LE(off);
      off += 4;
      if (off + len + 17 > data.length) return StatCache.empty();
      const rel = data.toString('utf8', off, off + len);
      off += len;
      map.set(rel, { fp: data.readBigUInt64LE(off), hash: data.readBigUInt64LE(off + 8), age: data[off + 16]! });
      off += 17;
    }
    if (off !== data.length) return StatCache.empty();
    return new StatCache(map);
  }

  get size(): number {
    return this.old.size;
  }

  lookup(rel: string, fp: bigint): bigint | undefined {
    const e = this.old.get(rel);
    if (e === undefined || e.fp !== fp) return undefined;
    this.fresh.set(rel, { fp, hash: e.hash, age: 0 });
    return e.hash;
  }

  /** Records a hash just computed; callers skip files changed too recently to be trusted. */
  record(rel: string, fp: bigint, hash: bigint): void {
    this.fresh.set(rel, { fp, hash, age: 0 });
    this.dirty = true;
  }

  /** Whether an entry this build did not use is known to be out of date (file changed or gone). */
  hasStale(freshness: (rel: string, fp: bigint) => Freshness): boolean {
    for (const [rel, e] of this.old) {
      if (!this.fresh.has(rel) && freshness(rel, e.fp) === 'changed') return true;
    }
    return false;
  }

  /**
   * Entries used this build, plus older ones this build did not contradict, aged by one.
   * `freshness(rel, fp)` reports whether this build saw the file unchanged, changed/deleted,
   * or not at all.
   */
  encode(freshness: (rel: string, fp: bigint) => Freshness): Buffer {
    this.dirty = false;
    const keep: Array<[string, Entry]> = [...this.fresh];
    for (const [rel, e] of this.old) {
      if (this.fresh.has(rel)) continue;
      const f = freshness(rel, e.fp);
      if (f === 'changed' || e.age + 1 > MAX_AGE) continue;
      keep.push([rel, { ...e, age: f === 'same' ? 0 : e.age + 1 }]);
    }
    const paths = keep.map(([rel]) => Buffer.from(rel, 'utf8'));
    const total = 9 + paths.reduce((n, p) => n + 4 + p.length + 17, 0);
    const out = Buffer.allocUnsafe(total);
    out.write(MAGIC, 0, 'latin1');
    out[4] = VERSION;
    out.writeUInt32LE(keep.length, 5);
    let off = 9;
    keep.forEach(([, e], i) => {
      const p = paths[i]!;
      out.writeUInt32LE(p.length, off);
      off += 4;
      p.copy(out, off);
      off += p.length;
      out.writeBigUInt64LE(e.fp, off);
      out.writeBigUInt64LE(e.hash, off + 8);
      out[off + 16] = e.age;
      off += 17;
    });
    return out;
  }
}
