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
const zlibCrc32 = (): ((data: Uint8Array) => number) | undefined => (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

/**
 * `bytes` as one gzip member of stored blocks, byte for byte what zlib writes at `STORED`
 * (same header, same block lengths), built here: zlib took ~4.9 ms per 3 MB through the thread
 * pool, in 64 KB round trips, for what is a copy and a CRC (~1.4 ms). Undefined on a Node.js
 * without `zlib.crc32` (before 20.15): zlib does it then.
 */
export function gzipStored(bytes: Buffer): Buffer | undefined {
  const crc32 = zlibCrc32();
  if (!crc32) return undefined;
  const blocks = bytes.length <= FIRST_STORED ? 1 : 1 + Math.ceil((bytes.length - FIRST_STORED) / NEXT_STORED);
  const out = Buffer.allocUnsafe(STORED_HEADER.length + blocks * 5 + bytes.length + 8);
  STORED_HEADER.copy(out, 0);
  let at = STORED_HEADER.length;
  let from = 0;
  for (let i = 0; i < blocks; i++) {
    const len = Math.min(i === 0 ? FIRST_STORED : NEXT_STORED, bytes.length - from);
    out[at] = i === blocks - 1 ? 1 : 0;
    out.writeUInt16LE(len, at + 1);
    out.writeUInt16LE(len ^ 0xffff, at + 3);
    bytes.copy(out, at + 5, from, from + len);
    at += 5 + len;
    from += len;
  }
  out.writeUInt32LE(crc32(bytes), at);
  out.writeUInt32LE(bytes.length % 2 ** 32, at + 4);
  return out;
}

/** Whether every one of a few windows spread over `bytes` fails to shrink (the first window usually settles it). */
export function looksIncompressible(bytes: Buffer): boolean {
  if (bytes.length < PROBE * PROBES) return false;
  for (let i = 0; i < PROBES; i++) {
    const at = Math.floor(((bytes.length - PROBE) * i) / (PROBES - 1));
    if (zlib.deflateRawSync(bytes.subarray(at, at + PROBE), { level: 1 }).length < PROBE * STORE_RATIO) return false;
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
  readonly #write: (b: Buffer) => Promise<void>;
  readonly #level: number;
  readonly #index: boolean;
  readonly #reusable = new Map<string, { offset: number; member: GzipMember }>();
  readonly #reuse?: MemberSource;
  readonly #queue: Array<Promise<{ gz: Buffer; member: GzipMember }>> = [];
  readonly #members: GzipMember[] = [];
  reused = 0;
  /** Of those, the members taken through addCompressed. */
  replayed = 0;

  /**
   * `index`: hash each member (its bytes and its gzip bytes) for the index finish() returns.
   * Without it members are hashed only to look them up in `reuse`, and the index has no hashes.
   */
  constructor(write: (b: Buffer) => Promise<void>, level: number, reuse?: MemberSource, index = true) {
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

  /** Queues one member's uncompressed bytes (starting with entry `first`); waits while enough are in flight. */
  async add(bytes: Buffer, first?: string): Promise<void> {
    const job = this.#compress(bytes).then(({ gz, member }) => ({ gz, member: withFirst(member, first) }));
    job.catch(() => undefined);
    this.#queue.push(job);
    while (this.#queue.length >= IN_FLIGHT) await this.#flushOne();
  }

  /** Queues a member of the reuse blob as it is: the caller has checked its bytes (member-replay.ts). */
  async addCompressed(gz: Buffer, member: GzipMember): Promise<void> {
    this.reused++;
    this.replayed++;
    this.#queue.push(Promise.resolve({ gz, member }));
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

  async #compress(bytes: Buffer): Promise<{ gz: Buffer; member: GzipMember }> {
    // Two sha256s of every member's bytes, on the thread pool: only for an index or a lookup.
    const sha = this.#index || this.#reuse ? await sha256Off(bytes) : '';
    const known = this.#reusable.get(`${sha}:${bytes.length}`);
    if (known && this.#reuse) {
      const gz = await this.#reuse.read(known.offset, known.member.gzSize).catch(() => undefined);
      if (gz && gz.length === known.member.gzSize && (await sha256Off(gz)) === known.member.gzSha) {
        this.reused++;
        return { gz, member: known.member };
      }
    }
    const stored = looksIncompressible(bytes);
    const gz = (stored && gzipStored(bytes)) || (await gzip(bytes, stored ? STORED : { level: this.#level }));
    return { gz, member: { sha, size: bytes.length, gzSha: this.#index ? await sha256Off(gz) : '', gzSize: gz.length } };
  }
}
