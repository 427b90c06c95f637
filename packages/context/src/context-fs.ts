import fs from 'node:fs';
import type { ContextScan } from './context-scan.ts';
import { unreadable } from './errors.ts';
import { dirName, joinRel } from './go-path.ts';

export type EntryType = 'file' | 'dir' | 'symlink' | 'other';

/** What tbuild keeps of an lstat: everything the digest and the stat cache need, no times. */
export interface EntryStat {
  type: EntryType;
  /** Permission bits including setuid/setgid/sticky (mode & 0o7777). */
  perm: number;
  uid: number;
  gid: number;
  size: number;
  /**
   * With size, mode, uid and gid: the identity of this version of the file for the stat
   * cache. Times are Node's float milliseconds (exact to ~0.25 µs today): BigInt stats
   * cost about a quarter of a warm rebuild in allocation and GC for no practical gain.
   */
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  rawMode: number;
  /** max(mtime, ctime) in ms; a file changed this recently is not trusted to the stat cache. */
  changedMs: number;
}

/** What a ContextFs read from disk: kept for the next build of the same context (context-memo.ts). */
export interface FsObservations {
  readonly stats: ReadonlyMap<string, EntryStat | null>;
  readonly dirs: ReadonlyMap<string, string[]>;
  readonly links: ReadonlyMap<string, string>;
}

const S_IFMT = 0o170000;

/** An EntryStat from the lstat fields it keeps. */
export function entryStat(mode: number, uid: number, gid: number, size: number, ino: number, mtimeMs: number, ctimeMs: number): EntryStat {
  return { type: entryType(mode), perm: mode & 0o7777, uid, gid, size, mtimeMs, ctimeMs, ino, rawMode: mode, changedMs: Math.max(mtimeMs, ctimeMs) };
}

function entryType(mode: number): EntryType {
  switch (mode & S_IFMT) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'dir';
    case 0o120000:
      return 'symlink';
    default:
      return 'other';
  }
}

/**
 * A read-once view of the context directory: every lstat, readdir and readlink is cached for
 * the life of one build, so many COPY steps over the same files touch the disk once.
 * Synchronous calls are deliberate: for thousands of small files they are several times
 * faster than libuv's thread pool (measured: 20k lstat 65 ms sync vs 140-240 ms async), and
 * the caller yields to the event loop between batches.
 */
export class ContextFs {
  readonly root: string;
  private readonly stats = new Map<string, EntryStat | null>();
  private readonly dirs = new Map<string, string[]>();
  private readonly links = new Map<string, string>();
  /** Number of lstat calls that reached the disk. */
  lstatCalls = 0;
  /** A scan of the root taken as this build began, read instead of the disk where it has the directory. */
  private scan: ContextScan | undefined;
  /** Directories whose scanned listing and lstats are in the maps above. */
  private readonly fromScan = new Set<string>();

  constructor(root: string) {
    this.root = root;
  }

  /** `rel` is already clean, so plain concatenation (path.join re-normalises, O(length)). */
  abs(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }

  /** Answers from `scan` from now on, wherever it listed the directory and nothing was read from the disk yet. */
  useScan(scan: ContextScan): void {
    this.scan = scan;
  }

  /** Takes directory `rel`'s listing, lstats and link targets from the scan; false when the scan did not list it. */
  private scanned(rel: string): boolean {
    if (this.fromScan.has(rel)) return true;
    const d = this.scan?.dir(rel);
    if (!d) return false;
    this.fromScan.add(rel);
    if (!this.dirs.has(rel)) this.dirs.set(rel, d.names.slice().sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    for (const [name, st] of d.stats) {
      const r = joinRel(rel, name);
      if (!this.stats.has(r)) this.stats.set(r, st);
    }
    for (const [name, target] of d.links) {
      const r = joinRel(rel, name);
      if (!this.links.has(r)) this.links.set(r, target);
    }
    return true;
  }

  /** Whether the scan listed `rel`'s directory (its lstat and link target, if any, are then in the maps). */
  private parentScanned(rel: string): boolean {
    return this.scan !== undefined && rel !== '' && this.scanned(dirName(rel));
  }

  lstat(rel: string): EntryStat | null {
    let hit = this.stats.get(rel);
    if (hit === undefined && this.parentScanned(rel)) hit = this.stats.get(rel);
    if (hit !== undefined) return hit;
    this.lstatCalls++;
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(this.abs(rel), { throwIfNoEntry: false });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTDIR') throw unreadable(rel, e);
    }
    const out: EntryStat | null = st ? entryStat(st.mode, st.uid, st.gid, st.size, st.ino, st.mtimeMs, st.ctimeMs) : null;
    this.stats.set(rel, out);
    return out;
  }

  /**
   * Takes in what an earlier ContextFs of this root read: each entry is lstat'ed again, and a
   * listing or link target is kept when its entry's lstat is unchanged (a directory's mtime and
   * ctime move with every entry added, removed or renamed in it; a symlink's target cannot
   * change in place). Returns how many entries changed.
   */
  refresh(prior: FsObservations): number {
    let changed = 0;
    for (const [rel, old] of prior.stats) {
      let now: EntryStat | null | undefined;
      try {
        now = this.lstat(rel);
      } catch {
        // Unreadable now: left to the build, which reports it if it still needs the entry.
      }
      if (now === undefined || !sameStat(old, now)) changed++;
    }
    for (const [rel, names] of prior.dirs) {
      if (this.unchanged(prior, rel)) this.dirs.set(rel, names);
    }
    for (const [rel, target] of prior.links) {
      if (this.unchanged(prior, rel)) this.links.set(rel, target);
    }
    return changed;
  }

  private unchanged(prior: FsObservations, rel: string): boolean {
    const before = prior.stats.get(rel);
    const now = this.stats.get(rel);
    return before != null && now != null && sameStat(before, now);
  }

  /** Everything read so far, as it stands (later reads add to it): the caller copies what it keeps. */
  observations(): FsObservations {
    return { stats: this.stats, dirs: this.dirs, links: this.links };
  }

  /** The cached lstat, without touching the disk: undefined when never asked. */
  peekStat(rel: string): EntryStat | null | undefined {
    return this.stats.get(rel);
  }

  peekDir(rel: string): string[] | undefined {
    return this.dirs.get(rel);
  }

  /**
   * Entry names of a directory in code-unit order (the canonical order of every listing).
   * `tolerateDenied`: an unreadable directory reads as empty (used for .dockerignore'd
   * directories that are only searched for re-included files, as fsutil does).
   */
  readdir(rel: string, tolerateDenied = false): string[] {
    const hit = this.dirs.get(rel);
    if (hit) return hit;
    // Stat first: a later build keeps this listing only while that lstat is unchanged.
    try {
      this.lstat(rel);
    } catch {
      // readdir below reports it
    }
    if (this.scan && this.scanned(rel)) return this.dirs.get(rel)!;
    let names: string[];
    try {
      names = fs.readdirSync(this.abs(rel));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (tolerateDenied && (code === 'EACCES' || code === 'EPERM')) return [];
      throw unreadable(rel || '.', e);
    }
    names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    this.dirs.set(rel, names);
    return names;
  }

  readlink(rel: string): string {
    let hit = this.links.get(rel);
    if (hit === undefined && this.parentScanned(rel)) hit = this.links.get(rel);
    if (hit !== undefined) return hit;
    let target: string;
    try {
      target = fs.readlinkSync(this.abs(rel));
    } catch (e) {
      throw unreadable(rel, e);
    }
    this.links.set(rel, target);
    return target;
  }
}

/** The same version of an entry: both missing, or equal in every lstat field the stat cache keys on. */
export function sameStat(a: EntryStat | null, b: EntryStat | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.rawMode === b.rawMode && a.uid === b.uid && a.gid === b.gid
  );
}

/**
 * Milliseconds on a monotonic clock. Not `performance.now()`: the `performance` global loads
 * perf_hooks (a dozen modules, ~2 ms of a warm build's start).
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Lets long synchronous loops give the event loop a turn every few milliseconds. */
export class Yielder {
  private last = monotonicMs();
  private n = 0;

  due(): boolean {
    if ((++this.n & 63) !== 0) return false;
    return monotonicMs() - this.last > 8;
  }

  async yield(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.last = monotonicMs();
  }
}
