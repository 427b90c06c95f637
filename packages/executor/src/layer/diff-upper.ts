import crypto from 'node:crypto';
import fs from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { endsMember, MAX_MEMBER, MemberWriter, type GzipMember, type MemberIndex, type MemberSource } from './gzip-members.ts';
import { MemberReplay, type ReplayCandidate } from './member-replay.ts';
import { encodeHeader, END_OF_ARCHIVE, paddingFor } from './tar-header.ts';
import { walkUpper, type LayerMember } from './upper-walk.ts';

/** Where the compressed layer goes: a store blob writer (`write` returns a promise) or a Node Writable. */
export type LayerSink = { write(chunk: Uint8Array): Promise<void>; writev?(chunks: readonly Uint8Array[]): Promise<void> } | NodeJS.WritableStream;

export interface DiffOptions {
  /** Clamp every mtime to this (seconds); whiteouts always get 0. */
  sourceDateEpoch?: number;
  compression: 'gzip' | 'none';
  /**
   * gzip level. Default 1. `gzip-level.bench.mjs` on this project's 2-core machine (busybox,
   * 12 MB of real node_modules text, 4 MB of incompressible bytes): level 1 runs at 115 MB/s
   * for a 0.405 ratio, level 6 at 53 MB/s for 0.369, level 9 at 25 MB/s for 0.368. Writing the
   * layer is on the critical path of every RUN; 10% more bytes only cost on the rarer push.
   */
  level?: number;
  /** Honour `user.overlay.*` markers (uppers of rootless `userxattr` mounts). */
  userXattr?: boolean;
  /**
   * The snapshot dirs the upper dir was mounted over, top-most first. Recommended: directories
   * that overlay only copied up and that equal the lower ones are then left out, so a RUN that
   * changes nothing gives an empty layer. Without it every upper directory is emitted.
   */
  lowers?: string[];
  /** An earlier blob whose gzip members may be copied where this layer has the same ones (gzip-members.ts). */
  reuse?: MemberSource;
  /**
   * Return the blob's member index, for a later diff's `reuse` (default true). It costs two
   * sha256s of every member on the thread pool; a layer no later diff reuses skips them.
   */
  index?: boolean;
  /**
   * Files moved unchanged from `reuse`'s snapshot, by path as in the tar, with the lstat taken
   * just before the move (walkUpper's `known`): a member made only of such files and of headers
   * equal to the previous member's is taken by inflating that member instead of reading the
   * files (member-replay.ts).
   */
  trusted?: ReadonlyMap<string, fs.BigIntStats>;
  /**
   * Hash the bytes written to the sink for `digest` (default true). A store blob writer hashes
   * what it is given itself; a second sha256 pass over every blob is then waste.
   */
  blobDigest?: boolean;
}

/** The layer written to the sink. */
export interface LayerDiff {
  /** sha256 of the bytes written to the sink (the compressed blob): goes in the manifest. Absent with `blobDigest: false`. */
  digest?: string;
  /** sha256 of the uncompressed tar: goes in the image config's rootfs.diff_ids. */
  diffId: string;
  /** Bytes written to the sink. */
  size: number;
  /** The upper dir held no change: the tar has no members (the caller usually drops the layer). */
  empty: boolean;
  /** With gzip: the blob's gzip members, for a later diff's `reuse`, and how many were copied from `reuse`. */
  members?: MemberIndex;
  reusedMembers?: number;
  /** Of the copied members, those whose files were not read at all (`trusted`). */
  replayedMembers?: number;
}

export const DEFAULT_GZIP_LEVEL = 1;

/**
 * Turns an overlay upper dir into an OCI layer tar (see `walkUpper` for the mapping), optionally
 * gzips it (as gzip members, gzip-members.ts), and streams it to `sink` while hashing both forms.
 * The sink is not ended or closed: it belongs to the caller (a blob writer commits, a file
 * stream is ended by its owner). Memory stays bounded: large files are streamed, and at most
 * three members of at most 4 MB are held, plus, when members are replayed, the five the
 * replay inflates ahead (member-replay.ts). Throws `TB_EXEC_WHITEOUT_NAME` for files named
 * `.wh.*`; on any error the sink may hold a partial blob and must be discarded.
 */
export async function diffUpperToLayer(upperDir: string, sink: LayerSink, opts: DiffOptions): Promise<LayerDiff> {
  const tarHash = crypto.createHash('sha256');
  const outHash = opts.blobDigest === false ? undefined : crypto.createHash('sha256');
  const blobDigest = () => (outHash ? `sha256:${outHash.digest('hex')}` : undefined);
  let size = 0;
  let empty = true;
  // The gzip member being gathered: its bytes so far, and the entry it started with.
  let bytes = 0;
  let memberFirst: string | undefined;
  let replay: MemberReplay | undefined;
  const trusted = opts.trusted;

  // Yields the tar's bytes, after each entry its name (where a gzip member may end), CUT
  // around a file big enough to be a member of its own, and members replayed whole.
  async function* tar(): AsyncGenerator<Buffer | string | typeof CUT | Replayed> {
    const it = withSmallFilesRead(walkUpper(upperDir, { sourceDateEpoch: opts.sourceDateEpoch, userXattr: opts.userXattr, lowers: opts.lowers, known: trusted }), trusted)[Symbol.asyncIterator]();
    // Entries a replay attempt read past and gave back, in order.
    const pending: WalkItem[] = [];
    const next = async (): Promise<WalkItem | undefined> => {
      if (pending.length) return pending.shift();
      const r = await it.next();
      return r.done ? undefined : r.value;
    };
    for (let item = await next(); item; item = await next()) {
      const { member } = item;
      empty = false;
      const own = member.source !== undefined && member.entry.size >= OWN_MEMBER;
      if (own) yield CUT;
      if (bytes === 0) memberFirst = member.entry.path;
      const candidate = replay && bytes === 0 && !own ? replay.candidate(member.entry.path) : undefined;
      if (candidate) {
        const r = await tryReplay(replay!, candidate, item, next);
        if (r.raw) {
          tarHash.update(r.raw);
          yield { replayed: r.gz, member: candidate.member };
          continue;
        }
        pending.unshift(...r.giveBack);
      }
      const data = item.data ?? (item.trusted && member.entry.size > 0 && member.entry.size <= SMALL_FILE ? await readSmall(member.source!, member.entry.size) : undefined);
      const header = encodeHeader(member.entry);
      tarHash.update(header);
      yield header;
      if (member.source === undefined || member.entry.size === 0) {
        yield member.entry.path;
        continue;
      }
      if (data) {
        tarHash.update(data);
        yield data;
        const pad = paddingFor(data.length);
        tarHash.update(pad);
        yield pad;
        yield member.entry.path;
        continue;
      }
      for await (const chunk of fileChunks(member.source, member.entry.size)) {
        tarHash.update(chunk);
        yield chunk;
      }
      const pad = paddingFor(member.entry.size);
      tarHash.update(pad);
      yield pad;
      yield own ? CUT : member.entry.path;
    }
    tarHash.update(END_OF_ARCHIVE);
    yield END_OF_ARCHIVE;
  }

  if (opts.compression === 'gzip') {
    const emit = async (pieces: readonly Buffer[]): Promise<void> => {
      for (const p of pieces) {
        outHash?.update(p);
        size += p.length;
      }
      await writePieces(sink, pieces);
    };
    const members = new MemberWriter(emit, opts.level ?? DEFAULT_GZIP_LEVEL, opts.reuse, opts.index !== false);
    if (trusted?.size && members.reuseSource) replay = new MemberReplay(members.reuseSource);
    let parts: Buffer[] = [];
    const cut = async (): Promise<void> => {
      const run = parts;
      const first = memberFirst;
      parts = [];
      bytes = 0;
      memberFirst = undefined;
      await members.add(run, first);
    };
    for await (const c of tar()) {
      if (c === CUT) {
        if (bytes > 0) await cut();
        continue;
      }
      if (typeof c === 'string') {
        if (endsMember(bytes, c)) await cut();
        continue;
      }
      if (!Buffer.isBuffer(c)) {
        await members.addCompressed(c.replayed, c.member);
        continue;
      }
      // A big file is cut at MAX_MEMBER, so no member is held whole in memory beyond that.
      for (let at = 0; at < c.length; ) {
        const take = Math.min(c.length - at, MAX_MEMBER - bytes);
        parts.push(at === 0 && take === c.length ? c : c.subarray(at, at + take));
        bytes += take;
        at += take;
        if (bytes >= MAX_MEMBER) await cut();
      }
    }
    if (bytes > 0) await cut();
    const index = await members.finish();
    const diffId = `sha256:${tarHash.digest('hex')}`;
    return { digest: blobDigest(), diffId, size, empty, ...(opts.index !== false ? { members: index } : {}), reusedMembers: members.reused, replayedMembers: members.replayed };
  }
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      outHash?.update(chunk);
      size += chunk.length;
      writeToSink(sink, chunk).then(() => cb(), cb);
    },
  });
  await pipeline(coalesce(bytesOnly(tar())), out);
  const diffId = `sha256:${tarHash.digest('hex')}`;
  return { digest: blobDigest(), diffId, size, empty };
}

async function* bytesOnly(chunks: AsyncIterable<Buffer | string | typeof CUT | Replayed>): AsyncGenerator<Buffer> {
  for await (const c of chunks) if (Buffer.isBuffer(c)) yield c;
}

/**
 * A file at least this big is a gzip member (or several) of its own, so that a big random or
 * compressed file is one member gzip-members can store rather than deflate, not mixed with text.
 */
const OWN_MEMBER = 512 << 10;
const CUT = Symbol('cut');

/** A member of the previous blob taken whole: its compressed bytes, checked. */
interface Replayed {
  replayed: Buffer;
  member: GzipMember;
}

/** A walked entry; a trusted file's bytes are not read ahead (a replay may never need them). */
interface WalkItem {
  member: LayerMember;
  data?: Buffer;
  trusted: boolean;
}

/**
 * Gathers the entries that would make up the member starting with `first`, without reading
 * file bytes, and replays `candidate` when they are exactly its entries: the member ends after
 * the same entry (same cut rules as the writer), every file in it was moved unchanged, and each
 * header is byte for byte the one at the same offset of the inflated previous member. The
 * files' bytes are then the previous member's bytes, for they are the very files that member
 * was made from. Otherwise the entries read are given back, to be archived as usual.
 */
async function tryReplay(
  replay: MemberReplay,
  candidate: ReplayCandidate,
  first: WalkItem,
  next: () => Promise<WalkItem | undefined>,
): Promise<{ raw: Buffer; gz: Buffer; giveBack?: undefined } | { raw?: undefined; giveBack: WalkItem[] }> {
  const inflated = replay.inflate(candidate);
  const items = [first];
  const headers: Array<[number, Buffer]> = [];
  let at = 0;
  const giveUp = () => ({ giveBack: items.slice(1) });
  for (let item = first; ; ) {
    const size = item.member.source !== undefined ? item.member.entry.size : 0;
    if ((size > 0 && !item.trusted) || size >= OWN_MEMBER) return giveUp();
    const header = encodeHeader(item.member.entry);
    headers.push([at, header]);
    at += header.length + size + paddingFor(size).length;
    if (at > candidate.member.size) return giveUp();
    if (at >= MAX_MEMBER || endsMember(at, item.member.entry.path)) break;
    const n = await next();
    // The archive's last member holds its end marker too: archived as usual.
    if (!n) return giveUp();
    items.push(n);
    item = n;
  }
  if (at !== candidate.member.size) return giveUp();
  const got = await inflated;
  if (!got) return giveUp();
  for (const [offset, header] of headers) if (!got.raw.subarray(offset, offset + header.length).equals(header)) return giveUp();
  return { raw: got.raw, gz: got.gz };
}

// A layer of many small files spent most of its time on one open/stream/close round trip per
// file (20,000 4 KB files: ~25 s of an 85 s COPY on this machine). Small files are read whole,
// several at once, ahead of the member being written; large ones still stream. Tiny files are
// read synchronously: three thread-pool hops (open, read, close) cost more than the syscalls on
// page-cached data (the 20,000-file tar: 1.5-1.8 s with async reads, 0.6 s with sync ones), and
// a file this small blocks the event loop for microseconds.
const TINY_FILE = 64 << 10;
const SMALL_FILE = 256 << 10;
const READ_AHEAD = 16;

async function* withSmallFilesRead(members: Iterable<LayerMember>, trusted?: ReadonlyMap<string, unknown>): AsyncGenerator<WalkItem> {
  const it = members[Symbol.iterator]();
  const queue: Array<{ member: LayerMember; data?: Promise<Buffer>; trusted: boolean }> = [];
  let done = false;
  const fill = (): void => {
    while (!done && queue.length < READ_AHEAD) {
      const n = it.next();
      if (n.done) {
        done = true;
        break;
      }
      const m = n.value;
      const isTrusted = m.source !== undefined && trusted?.has(m.entry.path) === true;
      const small = m.source !== undefined && m.entry.size > 0 && m.entry.size <= SMALL_FILE;
      const data = !small || isTrusted ? undefined : readSmall(m.source!, m.entry.size);
      // Awaited in order below; until then a failure must not count as unhandled.
      data?.catch(() => undefined);
      queue.push({ member: m, data, trusted: isTrusted });
    }
  };
  try {
    fill();
    while (queue.length) {
      const next = queue.shift()!;
      const data = next.data ? await next.data : undefined;
      fill();
      yield { member: next.member, trusted: next.trusted, ...(data ? { data } : {}) };
    }
  } finally {
    it.return?.();
  }
}

// Every write to a zlib stream or a blob file is one thread-pool job; a tar of small files is
// three chunks per file (header, data, padding). Batching them cut the gzip of 20,000 4 KB
// files from ~5.7 s to ~2 s here.
const BATCH = 512 << 10;

async function* coalesce(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let bytes = 0;
  for await (const c of chunks) {
    if (c.length >= BATCH && bytes === 0) {
      yield c;
      continue;
    }
    parts.push(c);
    bytes += c.length;
    if (bytes >= BATCH) {
      yield Buffer.concat(parts, bytes);
      parts = [];
      bytes = 0;
    }
  }
  if (bytes > 0) yield Buffer.concat(parts, bytes);
}

const CHUNK = 1 << 20;

/**
 * A file's `size` bytes in chunks of 1 MB and the rest, each read into a buffer of its own size:
 * a read stream's last, short read was copied into a smaller buffer (~4 ms per file here, in
 * page faults). Fails if the file is not `size` bytes long any more.
 */
export async function* fileChunks(file: string, size: number): AsyncGenerator<Buffer> {
  // O_NOFOLLOW: the walk saw a regular file; never follow a symlink swapped in since.
  const handle = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    for (let at = 0; at < size; ) {
      const buf = Buffer.allocUnsafeSlow(Math.min(CHUNK, size - at));
      for (let got = 0; got < buf.length; ) {
        const { bytesRead } = await handle.read(buf, got, buf.length - got, at + got);
        if (bytesRead === 0) throw new Error(`${file} changed size while being archived`);
        got += bytesRead;
      }
      at += buf.length;
      yield buf;
    }
    if ((await handle.read(Buffer.alloc(1), 0, 1, size)).bytesRead !== 0) throw new Error(`${file} changed size while being archived`);
  } finally {
    await handle.close();
  }
}

function readSmall(file: string, size: number): Promise<Buffer> {
  return size <= TINY_FILE ? readTiny(file, size) : readWhole(file, size);
}

/** readWhole's synchronous twin, for files small enough that the syscalls beat three thread-pool hops. */
function readTiny(file: string, size: number): Promise<Buffer> {
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      const buf = Buffer.allocUnsafe(size + 1);
      let got = 0;
      while (got < buf.length) {
        const n = fs.readSync(fd, buf, got, buf.length - got, got);
        if (n === 0) break;
        got += n;
      }
      if (got !== size) throw new Error(`${file} changed size while being archived`);
      return Promise.resolve(buf.subarray(0, size));
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    return Promise.reject(e);
  }
}

async function readWhole(file: string, size: number): Promise<Buffer> {
  // O_NOFOLLOW: the walk saw a regular file; never follow a symlink swapped in since.
  const handle = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    // One byte more than expected shows a file that grew since the walk.
    const buf = Buffer.allocUnsafe(size + 1);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await handle.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got !== size) throw new Error(`${file} changed size while being archived`);
    return buf.subarray(0, size);
  } finally {
    await handle.close();
  }
}

/** A member's pieces (gzip-members.ts), in one vectored write where the sink has one. */
async function writePieces(sink: LayerSink, pieces: readonly Buffer[]): Promise<void> {
  if (pieces.length === 1) return writeToSink(sink, pieces[0]!);
  if ('writev' in sink && sink.writev) return sink.writev(pieces);
  return writeToSink(sink, Buffer.concat(pieces));
}

async function writeToSink(sink: LayerSink, chunk: Buffer): Promise<void> {
  const r = (sink.write as (c: Uint8Array) => unknown)(chunk);
  if (r instanceof Promise) {
    await r;
    return;
  }
  if (r === false && 'once' in sink) {
    await new Promise<void>((resolve, reject) => {
      const s = sink as NodeJS.WritableStream;
      const onDrain = () => {
        s.removeListener('error', onError);
        resolve();
      };
      const onError = (e: unknown) => {
        s.removeListener('drain', onDrain);
        reject(e);
      };
      s.once('drain', onDrain);
      s.once('error', onError);
    });
  }
}
