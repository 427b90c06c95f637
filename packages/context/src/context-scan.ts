import { spawn } from 'node:child_process';
import { entryStat, type EntryStat } from './context-fs.ts';

/** A directory as the scanner listed it: every name, with its lstat when that succeeded. */
export interface ScannedDir {
  names: string[];
  stats: Map<string, EntryStat>;
  links: Map<string, string>;
}

/** Directories a scan leaves out (lstat'ed, not listed): by path below the root, or by name anywhere. */
export interface SkippedDirs {
  paths: string[];
  names: string[];
}

/** Entries a scan lists at most: a context larger than this is read by Node.js past it. */
const MAX_ENTRIES = 1_000_000;

/**
 * The output of `tbuild-scan` (native/scan.c, format described there) for one directory tree:
 * indexed by directory when read, each directory decoded on first use, so a build decodes
 * only what it walks.
 */
export class ContextScan {
  private readonly blocks = new Map<string, number>();
  private readonly decoded = new Map<string, ScannedDir>();
  /**
   * Whether the scan saw the whole tree: every entry lstat'ed, every directory listed but those
   * it was told to leave out, no limit reached. Only then does its fingerprint stand for the
   * tree (with what was left out).
   */
  whole = true;
  /** The latest mtime or ctime of any entry, in ms; and of those with whole-second times (a coarse file system). */
  newestChangeMs = 0;
  newestCoarseChangeMs = 0;

  private constructor(readonly data: Buffer) {}

  /**
   * Runs `scanner` on `dir`. Resolves to undefined when it cannot run, fails, or writes
   * malformed output: the caller then reads the directory itself. A scan cut short at
   * `maxEntries` has the directories it listed whole (and `whole` false).
   */
  static run(scanner: string, dir: string, opts: { maxEntries?: number; skip?: SkippedDirs } = {}): Promise<ContextScan | undefined> {
    const args = [dir, String(opts.maxEntries ?? MAX_ENTRIES)];
    for (const p of opts.skip?.paths ?? []) args.push('-p', p);
    for (const n of opts.skip?.names ?? []) args.push('-n', n);
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      const child = spawn(scanner, args, { stdio: ['ignore', 'pipe', 'ignore'] });
      child.stdout.on('data', (c: Buffer) => chunks.push(c));
      child.on('error', () => resolve(undefined));
      child.on('close', (code) => resolve(code === 0 ? ContextScan.parse(Buffer.concat(chunks)) : undefined));
    });
  }

  /** Indexes a scan's output; undefined when it is malformed or cut short. */
  static parse(data: Buffer): ContextScan | undefined {
    if (data.length < 6 || data.toString('latin1', 0, 4) !== 'TBS1') return undefined;
    const scan = new ContextScan(data);
    let off = 4;
    let dirs = 0;
    while (off < data.length && data[off] === 0x44 /* D */) {
      if (off + 5 > data.length) return undefined;
      const relLen = data.readUInt32LE(off + 1);
      const at = off;
      off += 5 + relLen;
      if (off + 4 > data.length) return undefined;
      const count = data.readUInt32LE(off);
      off += 4;
      for (let i = 0; i < count; i++) {
        const next = skipEntry(data, off);
        if (next < 0) return undefined;
        // Where the entry's record starts, after its name (skipEntry checked it is in bounds).
        const at = off + 4 + data.readUInt32LE(off);
        scan.note(at);
        if (scan.whole && isDir(data, at)) dirs++;
        off = next;
      }
      scan.blocks.set(data.toString('utf8', at + 5, at + 5 + relLen), at);
    }
    if (off + 2 !== data.length || data[off] !== 0x5a /* Z */) return undefined;
    // The root has a block and no entry; every other directory needs both.
    if (data[off + 1] !== 1 || scan.blocks.size !== dirs + 1) scan.whole = false;
    return scan;
  }

  /** Takes in the entry whose record (after its name) starts at `at` for `whole` and `newestChangeMs`. */
  private note(at: number): void {
    const d = this.data;
    if (d[at] === 0) {
      this.whole = false;
      return;
    }
    const changedMs = Math.max(timeMs(d, at + 29), timeMs(d, at + 41));
    if (changedMs > this.newestChangeMs) this.newestChangeMs = changedMs;
    if (changedMs > this.newestCoarseChangeMs && Number.isInteger(changedMs / 1000)) this.newestCoarseChangeMs = changedMs;
  }

  /** The listing of `rel` (relative to the scanned directory), or undefined when the scan has none. */
  dir(rel: string): ScannedDir | undefined {
    const hit = this.decoded.get(rel);
    if (hit) return hit;
    const at = this.blocks.get(rel);
    if (at === undefined) return undefined;
    const d = this.data;
    let off = at + 5 + d.readUInt32LE(at + 1);
    const count = d.readUInt32LE(off);
    off += 4;
    const out: ScannedDir = { names: new Array<string>(count), stats: new Map(), links: new Map() };
    for (let i = 0; i < count; i++) {
      const nameLen = d.readUInt32LE(off);
      const name = d.toString('utf8', off + 4, off + 4 + nameLen);
      off += 4 + nameLen;
      out.names[i] = name;
      if (d[off++] === 0) continue;
      const mode = d.readUInt32LE(off);
      out.stats.set(name, entryStat(mode, d.readUInt32LE(off + 4), d.readUInt32LE(off + 8), u64(d, off + 12), u64(d, off + 20), timeMs(d, off + 28), timeMs(d, off + 40)));
      off += 52;
      if ((mode & 0o170000) === 0o120000) {
        const t = d.readUInt32LE(off);
        off += 4;
        if (t !== 0xffffffff) {
          out.links.set(name, d.toString('utf8', off, off + t));
          off += t;
        }
      }
    }
    this.decoded.set(rel, out);
    return out;
  }
}

/** Whether the entry whose record starts at `at` (already checked by skipEntry) is a directory the scan was to list. */
function isDir(d: Buffer, at: number): boolean {
  return d[at] === 1 && (d.readUInt32LE(at + 1) & 0o170000) === 0o040000;
}

/** The offset after the entry at `off`, or -1 when it runs past the end. */
function skipEntry(d: Buffer, off: number): number {
  if (off + 5 > d.length) return -1;
  off += 4 + d.readUInt32LE(off);
  if (off + 1 > d.length) return -1;
  if (d[off++] === 0) return off;
  if (off + 52 > d.length) return -1;
  const mode = d.readUInt32LE(off);
  off += 52;
  if ((mode & 0o170000) !== 0o120000) return off;
  if (off + 4 > d.length) return -1;
  const t = d.readUInt32LE(off);
  off += 4;
  if (t === 0xffffffff) return off;
  return off + t > d.length ? -1 : off + t;
}

/** A little-endian unsigned 64-bit field as a double (exact below 2^53, as sizes and inodes are). */
function u64(d: Buffer, off: number): number {
  return d.readUInt32LE(off) + d.readUInt32LE(off + 4) * 4294967296;
}

/**
 * An i64 of seconds and a u32 of nanoseconds as milliseconds, computed as Node.js computes
 * fs.Stats' mtimeMs: the stat cache compares these numbers exactly.
 */
function timeMs(d: Buffer, off: number): number {
  return (d.readUInt32LE(off) + d.readInt32LE(off + 4) * 4294967296) * 1e3 + d.readUInt32LE(off + 8) / 1e6;
}
