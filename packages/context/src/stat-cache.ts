/**
 * The persisted stat cache: context path → (stat fingerprint, content hash). A file whose
 * size, mtime, inode, mode, owner and ctime are unchanged keeps its content hash without being
 * read. ctime and inode catch what size+mtime miss (an edit with the mtime set back, a file
 * replaced by another of the same size and mtime).
 *
 * It also keeps whole selections: selection key → (fingerprint of every selected entry's
 * path, type, link target and lstat, the selection's digest). A COPY whose files all look as
 * they did gets its digest from that one record, without a lookup per file.
 *
 * Binary format, little-endian: "TBSC" u8 version u32 selections, then per selection
 * u32 keyBytes, key (UTF-8), u64 fingerprint, u8 age, u8 digestBytes, digest (ASCII);
 * then u32 count, then per entry u32 pathBytes, path (UTF-8), u64 fingerprint,
 * u64 contentHash, u8 age. The entries are decoded only when a file is looked up: a build
 * whose selections all match never decodes them.
 */
const MAGIC = 'TBSC';
const VERSION = 2;
/** Entries not seen for this many builds are dropped (their files may be long gone). */
export const MAX_AGE = 16;

interface Entry {
  fp: bigint;
  hash: bigint;
  age: number;
}

interface Selection {
  fp: bigint;
  digest: string;
  age: number;
}

/** What a build learned about an entry it did not touch, for dropping stale ones. */
export type Freshness = 'unknown' | 'same' | 'changed';

export class StatCache {
  private decoded: Map<string, Entry> | undefined;
  private readonly fresh = new Map<string, Entry>();
  private readonly freshSelections = new Map<string, Selection>();
  /** True when hashes or selections were recorded since the last encode. */
  dirty = false;

  private constructor(
    private readonly selections: Map<string, Selection>,
    /** The encoded entries, from their count on; decoded on first use. */
    private readonly entryData: Buffer | undefined,
  ) {}

  static empty(): StatCache {
    return new StatCache(new Map(), undefined);
  }

  /** Decodes persisted data; anything malformed yields an empty cache (never a wrong hash). */
  static decode(data: Buffer | undefined): StatCache {
    if (!data || data.length < 9 || data.toString('latin1', 0, 4) !== MAGIC || data[4] !== VERSION) {
      return StatCache.empty();
    }
    const selections = new Map<string, Selection>();
    const count = data.readUInt32LE(5);
    let off = 9;
    for (let i = 0; i < count; i++) {
      if (off + 4 > data.length) return StatCache.empty();
      const len = data.readUInt32LE(off);
      off += 4;
      if (off + len + 10 > data.length) return StatCache.empty();
      const key = data.toString('utf8', off, off + len);
      off += len;
      const fp = data.readBigUInt64LE(off);
      const age = data[off + 8]!;
      const dlen = data[off + 9]!;
      off += 10;
      if (off + dlen > data.length) return StatCache.empty();
      selections.set(key, { fp, age, digest: data.toString('latin1', off, off + dlen) });
      off += dlen;
    }
    if (off + 4 > data.length) return StatCache.empty();
    return new StatCache(selections, data.subarray(off));
  }

  /** The entries as persisted: empty when their encoding is malformed. */
  private get old(): Map<string, Entry> {
    if (this.decoded) return this.decoded;
    const map = new Map<string, Entry>();
    const data = this.entryData;
    if (data) {
      const count = data.readUInt32LE(0);
      let off = 4;
      for (let i = 0; i < count; i++) {
        if (off + 4 > data.length) return (this.decoded = new Map());
        const len = data.readUInt32LE(off);
        off += 4;
        if (off + len + 17 > data.length) return (this.decoded = new Map());
        const rel = data.toString('utf8', off, off + len);
        off += len;
        map.set(rel, { fp: data.readBigUInt64LE(off), hash: data.readBigUInt64LE(off + 8), age: data[off + 16]! });
        off += 17;
      }
      if (off !== data.length) return (this.decoded = new Map());
    }
    return (this.decoded = map);
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

  /** The digest kept for selection `key` when its entries' fingerprint is still `fp`. */
  selectionDigest(key: string, fp: bigint): string | undefined {
    const s = this.selections.get(key);
    if (s === undefined || s.fp !== fp) return undefined;
    if (s.age !== 0) this.dirty = true;
    this.freshSelections.set(key, { fp, digest: s.digest, age: 0 });
    return s.digest;
  }

  /** Records a selection's digest; callers skip selections with files changed too recently to be trusted. */
  recordSelection(key: string, fp: bigint, digest: string): void {
    const s = this.selections.get(key);
    if (s?.fp === fp && s.digest === digest && s.age === 0) return;
    this.freshSelections.set(key, { fp, digest, age: 0 });
    this.dirty = true;
  }

  /**
   * Whether an entry this build did not use is known to be out of date (file changed or gone).
   * Never when the entries were not decoded: every file this build read then belonged to a
   * selection that matched its record, so none of them changed.
   */
  hasStale(freshness: (rel: string, fp: bigint) => Freshness): boolean {
    if (!this.decoded) return false;
    for (const [rel, e] of this.old) {
      if (!this.fresh.has(rel) && freshness(rel, e.fp) === 'changed') return true;
    }
    return false;
  }

  /**
   * Entries and selections used this build, plus older ones this build did not contradict,
   * aged by one. `freshness(rel, fp)` reports whether this build saw the file unchanged,
   * changed/deleted, or not at all.
   */
  encode(freshness: (rel: string, fp: bigint) => Freshness): Buffer {
    this.dirty = false;
    // Only selections changed: the entries go back as they came, neither decoded nor aged.
    const verbatim = !this.decoded && this.fresh.size === 0 ? this.entryData : undefined;
    const keep: Array<[string, Entry]> = [...this.fresh];
    for (const [rel, e] of verbatim ? [] : this.old) {
      if (this.fresh.has(rel)) continue;
      const f = freshness(rel, e.fp);
      if (f === 'changed' || e.age + 1 > MAX_AGE) continue;
      keep.push([rel, { ...e, age: f === 'same' ? 0 : e.age + 1 }]);
    }
    const sels: Array<[string, Selection]> = [...this.freshSelections];
    for (const [key, s] of this.selections) {
      if (!this.freshSelections.has(key) && s.age + 1 <= MAX_AGE) sels.push([key, { ...s, age: s.age + 1 }]);
    }
    const keys = sels.map(([key]) => Buffer.from(key, 'utf8'));
    const paths = keep.map(([rel]) => Buffer.from(rel, 'utf8'));
    const total =
      9 + keys.reduce((n, k, i) => n + 4 + k.length + 10 + sels[i]![1].digest.length, 0) + (verbatim ? verbatim.length : 4 + paths.reduce((n, p) => n + 4 + p.length + 17, 0));
    const out = Buffer.allocUnsafe(total);
    out.write(MAGIC, 0, 'latin1');
    out[4] = VERSION;
    out.writeUInt32LE(sels.length, 5);
    let off = 9;
    sels.forEach(([, s], i) => {
      const k = keys[i]!;
      out.writeUInt32LE(k.length, off);
      off += 4;
      k.copy(out, off);
      off += k.length;
      out.writeBigUInt64LE(s.fp, off);
      out[off + 8] = s.age;
      out[off + 9] = s.digest.length;
      off += 10;
      off += out.write(s.digest, off, 'latin1');
    });
    if (verbatim) {
      verbatim.copy(out, off);
      return out;
    }
    out.writeUInt32LE(keep.length, off);
    off += 4;
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
