import crypto from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

// A layer blob is a series of gzip members (RFC 1952 allows any number; Go's, containerd's and
// Node's readers decompress them as one stream), each a run of whole tar entries. Members are
// cut where an entry's name says so, not at fixed offsets, so a change to one file leaves the
// others' members byte for byte as they were: a rerun COPY of 20,000 files with one edited
// copies 91 MB of compressed members from its previous blob instead of gzipping them again
// (1.3 s of both cores here). Members are also compressed two at a time, on both cores.

// Promisified at the call: the bundle loads node:zlib on first use (scripts/bundle.mjs).
const gzip = (bytes: zlib.InputType, options: zlib.ZlibOptions): Promise<Buffer> => promisify(zlib.gzip)(bytes, options);

/** A member of a layer blob: sha256 of its uncompressed bytes and their length, and the same of its compressed bytes. */
export interface GzipMember {
  sha: string;
  size: number;
  gzSha: string;
  gzSize: number;
  /** The path of the tar entry the member starts with; absent when it starts inside an entry. */
  first?: string;
}

/** A blob's members in order, and how they were compressed: reused only with the same zlib and level (incompressible members are stored whatever the level). */
export interface MemberIndex {
  zlib: string;
  level: number;
  members: GzipMember[];
}

/** An earlier blob whose members may be copied: its index and a reader of byte ranges of it. */
export interface MemberSource {
  index: MemberIndex;
  read(offset: number, length: number): Promise<Buffer>;
}

/** A member ends after an entry once it holds at least this much and the entry's name hash says so. */
const MIN_MEMBER = 512 << 10;
/** …and, wherever it is, once it holds this much (diff-upper cuts there, inside an entry if need be). */
export const MAX_MEMBER = 4 << 20;
/** One entry name in 8 ends a member (past MIN_MEMBER): ~1 MB members on small files. */
const CUT_MASK = 7;
/** Members being compressed at once (the thread pool does the work). */
const IN_FLIGHT = 2;

// Random or already-compressed bytes (a RUN's downloads, archives, images) do not shrink, yet
// deflate level 1 spends 19 ms per MB on them here against 2 ms for stored blocks, and its
// output is no smaller. Such a member is written stored (level 0). The choice is made from the
// member's own bytes, so a blob is still a function of its content alone.
const PROBE = 16 << 10;
const PROBES = 4;
/** A window that deflates to more than this share of itself counts as incompressible. */
const STORE_RATIO = 0.9;
/**
 * Stored blocks are as long as the output buffer allows, so its size is part of the bytes:
 * fixed here rather than left to Node's default (deflating levels do not depend on it).
 */
export const STORED = { level: 0, chunkSize: 64 << 10 } as const;

const STORED_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 3]);
/** zlib's first stored block fills its 64 KB output buffer after the gzip header; the rest after their own 5-byte headers. */
const FIRST_STORED = (64 << 10) - STORED_HEADER.length - 5;
const NEXT_STORED = (64 << 10) - 5;
// Read at the call, as `gzip` above.
const zlibCrc32 = (): ((data: Uint8Array, value?: number) => number) | undefined => (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/**
 * A member's bytes as one gzip member of stored blocks, byte for byte what zlib writes at
 * `STORED` (same header, same block lengths), built here: zlib took ~4.9 ms per 3 MB through the
 * thread pool, in 64 KB round trips, for what is a copy and a CRC (~1.4 ms). Not even the copy:
 * the result is the block headers between slices of `parts`, for a vectored write. Joining the
 * parts and then the blocks cost a rerun COPY of three 3 MB files ~30 ms of page faults each
 * here. Undefined on a Node.js without `zlib.crc32` (before 20.15): zlib does it then.
 */
export function gzipStored(parts: readonly Buffer[]): Buffer[] | undefined {
  const crc32 = zlibCrc32();
  if (!crc32) return undefined;
  const total = lengthOf(parts);
  const blocks = total <= FIRST_STORED ? 1 : 1 + Math.ceil((total - FIRST_STORED) / NEXT_STORED);
  // The gzip header, each block's 5-byte header and the trailer, in one allocation.
  const heads = Buffer.allocUnsafe(STORED_HEADER.length + blocks * 5 + 8);
  STORED_HEADER.copy(heads, 0);
  const out = [heads.subarray(0, STORED_HEADER.length)];
  let h = STORED_HEADER.length;
  let crc = 0;
  let part = 0;
  let inPart = 0;
  let from = 0;
  for (let i = 0; i < blocks; i++) {
    const len = Math.min(i === 0 ? FIRST_STORED : NEXT_STORED, total - from);
    heads[h] = i === blocks - 1 ? 1 : 0;
    heads.writeUInt16LE(len, h + 1);
    heads.writeUInt16LE(len ^ 0xffff, h + 3);
    out.push(heads.subarray(h, h + 5));
    h += 5;
    for (let need = len; need > 0; ) {
      const p = parts[part]!;
      const take = Math.min(need, p.length - inPart);
      const slice = p.subarray(inPart, inPart + take);
      out.push(slice);
      crc = crc32(slice, crc);
      need -= take;
      inPart += take;
      if (inPart === p.length) {
        part++;
        inPart = 0;
      }
    }
    from += len;
  }
  heads.writeUInt32LE(crc, h);
  heads.writeUInt32LE(total % 2 ** 32, h + 4);
  out.push(heads.subarray(h, h + 8));
  return out;
}

function lengthOf(parts: readonly Buffer[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}

/** `len` bytes of `parts` from `at`: a view where they lie in one part, else a copy. */
function rangeOf(parts: readonly Buffer[], at: number, len: number): Buffer {
  let i = 0;
  while (at >= parts[i]!.length) at -= parts[i++]!.length;
  if (at + len <= parts[i]!.length) return parts[i]!.subarray(at, at + len);
  const out = Buffer.allocUnsafe(len);
  for (let got = 0; got < len; i++, at = 0) got += parts[i]!.copy(out, got, at, Math.min(parts[i]!.length, at + len - got));
  return out;
}

/** Whether every one of a few windows spread over a member's bytes fails to shrink (the first window usually settles it). */
export function looksIncompressible(parts: readonly Buffer[]): boolean {
  const total = lengthOf(parts);
  if (total < PROBE * PROBES) return false;
  for (let i = 0; i < PROBES; i++) {
    const at = Math.floor(((total - PROBE) * i) / (PROBES - 1));
    if (zlib.deflateRawSync(rangeOf(parts, at, PROBE), { level: 1 }).length < PROBE * STORE_RATIO) return false;
  }
  return true;
}

/** Whether a member holding `bytes` (less than MAX_MEMBER) ends after the entry named `name`. */
export function endsMember(bytes: number, name: string): boolean {
  if (bytes < MIN_MEMBER) return false;
  // FNV-1a: stable across processes and versions, unlike anything seeded.
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return ((h >>> 0) & CUT_MASK) === 0;
}

/**
 * sha256 of a whole member, computed on libuv's thread pool (WebCrypto runs its digests there):
 * the main thread meanwhile walks the upper dir and builds the tar.
 */
export const sha256Off = async (b: Buffer): Promise<string> => Buffer.from(await crypto.webcrypto.subtle.digest('SHA-256', b)).toString('hex');

/** sha256Off of one buffer; of pieces, on the main thread (~0.6 ms per MB here), which beats joining them. */
async function sha256Of(b: Buffer | readonly Buffer[]): Promise<string> {
  if (Buffer.isBuffer(b)) return sha256Off(b);
  const h = crypto.createHash('sha256');
  for (const p of b) h.update(p);
  return h.digest('hex');
}

function withFirst(m: GzipMember, first: string | undefined): GzipMember {
  const { first: _old, ...rest } = m;
  return first === undefined ? rest : { ...rest, first };
}

/**
 * Compresses members in order into `write`, copying those an earlier blob already has
 * compressed with the same zlib and level. A copied member is checked against the index's
 * compressed hash, so a damaged index or blob only costs compressing it again; either way the
 * bytes are the ones compressing would give, so the blob's digest never depends on the cache.
 */
export class MemberWriter {
  readonly #write: (pieces: readonly Buffer[]) => Promise<void>;
  readonly #level: number;
  readonly #index: boolean;
  readonly #reusable = new Map<string, { offset: number; member: GzipMember }>();
  readonly #reuse?: MemberSource;
  readonly #queue: Array<Promise<{ gz: readonly Buffer[]; member: GzipMember }>> = [];
  readonly #members: GzipMember[] = [];
  reused = 0;
  /** Of those, the members taken through addCompressed. */
  replayed = 0;

  /**
   * `index`: hash each member (its bytes and its gzip bytes) for the index finish() returns.
   * Without it members are hashed only to look them up in `reuse`, and the index has no hashes.
   */
  constructor(write: (pieces: readonly Buffer[]) => Promise<void>, level: number, reuse?: MemberSource, index = true) {
    this.#write = write;
    this.#level = level;
    this.#index = index;
    if (reuse && reuse.index.zlib === process.versions.zlib && reuse.index.level === level) {
      this.#reuse = reuse;
      let offset = 0;
      for (const m of reuse.index.members) {
        this.#reusable.set(`${m.sha}:${m.size}`, { offset, member: m });
        offset += m.gzSize;
      }
    }
  }

  /**
   * Queues one member's uncompressed bytes, in the parts they were read in (starting with entry
   * `first`); waits while enough are in flight. The parts are read, not copied: leave them be.
   */
  async add(parts: readonly Buffer[], first?: string): Promise<void> {
    const job = this.#compress(parts).then(({ gz, member }) => ({ gz, member: withFirst(member, first) }));
    job.catch(() => undefined);
    this.#queue.push(job);
    while (this.#queue.length >= IN_FLIGHT) await this.#flushOne();
  }

  /** Queues a member of the reuse blob as it is: the caller has checked its bytes (member-replay.ts). */
  async addCompressed(gz: Buffer, member: GzipMember): Promise<void> {
    this.reused++;
    this.replayed++;
    this.#queue.push(Promise.resolve({ gz: [gz], member }));
    while (this.#queue.length >= IN_FLIGHT) await this.#flushOne();
  }

  /** The reuse blob, when its members are what compressing here would give (same zlib and level). */
  get reuseSource(): MemberSource | undefined {
    return this.#reuse;
  }

  /** Writes what is queued and returns the blob's index. */
  async finish(): Promise<MemberIndex> {
    while (this.#queue.length) await this.#flushOne();
    return { zlib: process.versions.zlib ?? '', level: this.#level, members: this.#members };
  }

  async #flushOne(): Promise<void> {
    const { gz, member } = await this.#queue.shift()!;
    this.#members.push(member);
    await this.#write(gz);
  }

  async #compress(parts: readonly Buffer[]): Promise<{ gz: readonly Buffer[]; member: GzipMember }> {
    const stored = looksIncompressible(parts);
    // Deflating needs the bytes in one piece; stored blocks are slices of the parts as they are.
    const bytes = stored && zlibCrc32() ? undefined : parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    // Two sha256s of every member's bytes, on the thread pool when they are in one piece: only for an index or a lookup.
    const sha = this.#index || this.#reuse ? await sha256Of(bytes ?? parts) : '';
    const size = bytes?.length ?? lengthOf(parts);
    const known = this.#reusable.get(`${sha}:${size}`);
    if (known && this.#reuse) {
      const gz = await this.#reuse.read(known.offset, known.member.gzSize).catch(() => undefined);
      if (gz && gz.length === known.member.gzSize && (await sha256Off(gz)) === known.member.gzSha) {
        this.reused++;
        return { gz: [gz], member: known.member };
      }
    }
    const gz = bytes ? [await gzip(bytes, stored ? STORED : { level: this.#level })] : gzipStored(parts)!;
    return { gz, member: { sha, size, gzSha: this.#index ? await sha256Of(gz.length === 1 ? gz[0]! : gz) : '', gzSize: lengthOf(gz) } };
  }
}
