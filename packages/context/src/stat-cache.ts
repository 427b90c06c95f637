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
 * u64 contentHash, u8 age. The entries are indexed only when a file is looked up: a build
 * whose selections all match never reads them.
 */
const MAGIC = 'TBSC';
const VERSION = 2;
/** Entries not seen for this many builds are dropped (their files may be long gone). */
export const MAX_AGE = 16;

interface Entry {
  fp: bigint;
  hash: bigint;
}

interface Selection {
  fp: bigint;
  digest: string;
  age: number;
}

/**
 * The persisted entries, indexed: where each record starts in the encoded bytes, by path. No
 * object per entry: a 20,000-file context's records stay one buffer, so an edit build neither
 * builds nor garbage-collects 20,000 of them.
 */
interface Persisted {
  index: Map<string, number>;
  paths: string[];
  /** Offset of each record's u32 pathBytes in `data`. */
  starts: Int32Array;
  /** 1 for each record this build looked up and found current. */
  used: Uint8Array;
}

/** What a build learned about an entry it did not touch, for dropping stale ones. */
export type Freshness = 'unknown' | 'same' | 'changed';

/** u32 pathBytes, path, u64 fingerprint, u64 content hash, u8 age. */
const RECORD_FIXED = 4 + 17;

export class StatCache {
  private decoded: Persisted | undefined;
  /** Hashes computed this build (new files, changed ones). */
  private readonly fresh = new Map<string, Entry>();
  private readonly freshSelections = new Map<string, Selection>();
  /** True when hashes or selections were recorded since the last encode. */
  dirty = false;

  private constructor(
    private readonly selections: Map<string, Selection>,
    /** The encoded entries, from their count on; indexed on first use. */
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

  /** The persisted entries, indexed: none when their encoding is malformed or repeats a path. */
  private get old(): Persisted {
    if (this.decoded) return this.decoded;
    const none: Persisted = { index: new Map(), paths: [], starts: new Int32Array(0), used: new Uint8Array(0) };
    const data = this.entryData;
    if (!data) return (this.decoded = none);
    const count = data.readUInt32LE(0);
    if (count > (data.length - 4) / RECORD_FIXED) return (this.decoded = none);
    const out: Persisted = { index: new Map(), paths: new Array<string>(count), starts: new Int32Array(count), used: new Uint8Array(count) };
    let off = 4;
    for (let i = 0; i < count; i++) {
      if (off + 4 > data.length) return (this.decoded = none);
      const len = data.readUInt32LE(off);
      if (off + len + RECORD_FIXED > data.length) return (this.decoded = none);
      const rel = data.toString('utf8', off + 4, off + 4 + len);
      if (out.index.has(rel)) return (this.decoded = none);
      out.index.set(rel, i);
      out.paths[i] = rel;
      out.starts[i] = off;
      off += len + RECORD_FIXED;
    }
    if (off !== data.length) return (this.decoded = none);
    return (this.decoded = out);
  }

  /** Offset of record `i`'s fingerprint (its content hash follows, then its age). */
  private fpAt(i: number): number {
    const start = this.old.starts[i]!;
    return start + 4 + this.entryData!.readUInt32LE(start);
  }

  get size(): number {
    return this.old.index.size;
  }

  lookup(rel: string, fp: bigint): bigint | undefined {
    const recorded = this.fresh.get(rel);
    if (recorded !== undefined) return recorded.fp === fp ? recorded.hash : undefined;
    const old = this.old;
    const i = old.index.get(rel);
    if (i === undefined) return undefined;
    const at = this.fpAt(i);
    if (this.entryData!.readBigUInt64LE(at) !== fp) return undefined;
    old.used[i] = 1;
    return this.entryData!.readBigUInt64LE(at + 8);
  }

  /** Records a hash just computed; callers skip files changed too recently to be trusted. */
  record(rel: string, fp: bigint, hash: bigint): void {
    this.fresh.set(rel, { fp, hash });
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
    const old = this.decoded;
    if (!old) return false;
    for (let i = 0; i < old.paths.length; i++) {
      const rel = old.paths[i]!;
      if (old.used[i] || this.fresh.has(rel)) continue;
      if (freshness(rel, this.entryData!.readBigUInt64LE(this.fpAt(i))) === 'changed') return true;
    }
    return false;
  }

  /**
   * Entries and selections used this build, plus older ones this build did not contradict,
   * aged by one. `freshness(rel, fp)` reports whether this build saw the file unchanged,
   * changed/deleted, or not at all. Kept records are copied as they were, but for their age.
   */
  encode(freshness: (rel: string, fp: bigint) => Freshness): Buffer {
    this.dirty = false;
    const sels: Array<[string, Selection]> = [...this.freshSelections];
    for (const [key, s] of this.selections) {
      if (!this.freshSelections.has(key) && s.age + 1 <= MAX_AGE) sels.push([key, { ...s, age: s.age + 1 }]);
    }
    // Only selections changed: the entries go back as they came, neither indexed nor aged.
    const verbatim = !this.decoded && this.fresh.size === 0;
    const data = this.entryData;
    let most = 9 + 4 + (data?.length ?? 0);
    for (const [key, s] of sels) most += 4 + Buffer.byteLength(key) + 10 + s.digest.length;
    for (const rel of this.fresh.keys()) most += Buffer.byteLength(rel) + RECORD_FIXED;
    const out = Buffer.allocUnsafe(most);
    out.write(MAGIC, 0, 'latin1');
    out[4] = VERSION;
    out.writeUInt32LE(sels.length, 5);
    let off = 9;
    for (const [key, s] of sels) {
      const len = out.write(key, off + 4, 'utf8');
      out.writeUInt32LE(len, off);
      off += 4 + len;
      out.writeBigUInt64LE(s.fp, off);
      out[off + 8] = s.age;
      out[off + 9] = s.digest.length;
      off += 10;
      off += out.write(s.digest, off, 'latin1');
    }
    if (verbatim) {
      if (data) off += data.copy(out, off);
      else off = out.writeUInt32LE(0, off);
      return out.subarray(0, off);
    }
    const countAt = off;
    off += 4;
    let count = 0;
    const old = this.old;
    for (let i = 0; i < old.paths.length; i++) {
      const rel = old.paths[i]!;
      if (this.fresh.has(rel)) continue;
      const start = old.starts[i]!;
      const end = start + data!.readUInt32LE(start) + RECORD_FIXED;
      let age = data![end - 1]!;
      if (old.used[i]) age = 0;
      else {
        const f = freshness(rel, data!.readBigUInt64LE(end - 17));
        if (f === 'changed' || age + 1 > MAX_AGE) continue;
        age = f === 'same' ? 0 : age + 1;
      }
      off += data!.copy(out, off, start, end);
      out[off - 1] = age;
      count++;
    }
    for (const [rel, e] of this.fresh) {
      const len = out.write(rel, off + 4, 'utf8');
      out.writeUInt32LE(len, off);
      off += 4 + len;
      out.writeBigUInt64LE(e.fp, off);
      out.writeBigUInt64LE(e.hash, off + 8);
      out[off + 16] = 0;
      off += 17;
      count++;
    }
    out.writeUInt32LE(count, countAt);
    return out.subarray(0, off);
  }
}
