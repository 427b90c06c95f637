import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { BuildError } from '@tbuild/errors';
import { copyXattrs } from '../layer/xattrs.ts';
import { setMtimesNs } from '../snapshot/sys-helper.ts';
import { fileRecord, recordedStat } from './file-record.ts';
import { joinClean } from '../clean-path.ts';
import { copyPool, copySmall, cutMtimeMs, isPoolDown, setMeta, type CopyPool, type SmallCopied } from './copy-pool.ts';
import { isDirectoryIn, mkdirAllInRoot, resolveIn } from './confined-path.ts';
import { helperCopier, type HelperCopier } from './helper-copy.ts';

/** One file a COPY/ADD selected (the shape `@tbuild/context` selects, from the context or a stage root). */
export interface CopySource {
  /** Host path to read. */
  absPath: string;
  /** Where it lands relative to the destination (a dir source contributes its contents). */
  destRel: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  linkTarget?: string;
  /** The source's lstat, when the selector made one: spares takeUnchanged a stat per file. */
  size?: number;
  mtimeMs?: number;
  uid?: number;
  gid?: number;
  /** The COPY source argument that selected it: hard links are kept among the files of one, as BuildKit's copy keeps them. */
  source?: string;
}

export interface CopyRequest {
  /** The merged rootfs the copy writes into (writes land in the step's upper dir). */
  rootfs: string;
  /** Absolute container path, already resolved against WORKDIR; a trailing `/` means "a directory". */
  dest: string;
  files: CopySource[];
  /** True when the sources can only be a directory target (several named sources). */
  destMustBeDir: boolean;
  /**
   * The one source is a directory: its contents go *into* dest even when it holds a single
   * file (`COPY d /d` with only `d/f` gives `/d/f`, never a file `/d`).
   */
  sourceIsDir?: boolean;
  /**
   * Owner of everything written. Undefined keeps each source's own owner, which is what
   * BuildKit does for `COPY --from` a stage or image without --chown (context files arrive as
   * 0:0 because BuildKit's file sync resets them, so callers pass 0:0 for the context).
   */
  uid?: number;
  gid?: number;
  /** `--chmod`, already parsed: new permission bits for a file or directory. */
  chmod?: (mode: number, isDir: boolean) => number;
  /**
   * Keep each file's xattrs and its mtime to the nanosecond, as BuildKit's copy does for
   * `COPY --from` a stage or image without --chown/--chmod.
   */
  keepSourceAttrs?: boolean;
  /** Take unchanged files from a previous result instead of copying them (scheduler/copy-donor.ts). */
  reuse?: CopyReuse;
}

/** `rel`: the written path relative to the rootfs, symlinks in the image resolved. */
export interface CopyReuse {
  /** The upper dir of the overlay mounted at `rootfs`. */
  upper: string;
  /** A file this copy may move into place at `rel`, made from the content `f` has, if there is one. */
  donorFor(f: CopySource, rel: string): string | undefined;
  /** The previous result's directory at `rel`, to move whole when everything in it is taken; absent without a previous result. */
  donorDir?(rel: string): string;
  /** What the previous result's file at `rel` was written with (file-record.ts), if its note says. */
  recorded?(rel: string): string | undefined;
  /**
   * Called for every regular file written, with its fileRecord when known, and its lstat when
   * it was moved from the previous result (the stat the move was checked with, which a rename
   * keeps, so every field a layer header reads); without one when it was copied.
   */
  written(f: CopySource, rel: string, record: string | undefined, taken?: fsSync.BigIntStats): void;
}

/**
 * Copies selected files into a rootfs with Docker's destination rules: a destination ending in
 * `/`, or one that already is a directory, receives files by name; otherwise a single file
 * source is written *as* the destination. Paths are resolved confined to the rootfs, so an
 * image's symlinks can redirect a copy only within the image.
 */
export async function copyFiles(req: CopyRequest): Promise<{ files: number; bytes: number }> {
  const destDirSyntax = req.dest.endsWith('/');
  const dest = path.posix.normalize(req.dest);
  const single = !req.sourceIsDir && req.files.length === 1 && req.files[0]!.type !== 'dir' && req.files[0]!.destRel !== '' ? req.files[0]! : undefined;
  let asFile: string | undefined;
  if (single && !destDirSyntax) {
    const resolved = resolveIn(req.rootfs, dest);
    const st = await fs.stat(resolved.hostPath).catch(() => undefined);
    if (!st?.isDirectory()) {
      if (req.destMustBeDir) {
        throw new BuildError({
          code: 'TB_EXEC_COPY_DEST',
          message: 'When using COPY with more than one source file, the destination must be a directory and end with a /',
        });
      }
      // Through a symlink already there, confined to the rootfs, as BuildKit's copy resolves its
      // destination: `COPY f /etc/localtime` rewrites the zone file the link names.
      asFile = resolved.containerPath;
    }
  }
  // Directories a copy has to create (dest and parents) belong to root unless --chown says otherwise.
  const owner = { uid: req.uid ?? 0, gid: req.gid ?? 0 };
  let bytes = 0;
  const late: LateWork = { mtimes: new Map(), links: new Map(), linkedAs: new Map() };
  let count = 0;
  if (asFile !== undefined) {
    await mkdirAllInRoot(req.rootfs, path.posix.dirname(asFile), owner);
    bytes += await writeOne(req, single!, asFile, late);
    await setMtimesNs([...late.mtimes]);
    return { files: 1, bytes };
  }
  // Parents before children, so a directory's mode is set after its entries exist.
  const sorted = [...req.files].sort((a, b) => (a.destRel < b.destRel ? -1 : a.destRel > b.destRel ? 1 : 0));
  const dirs: Array<{ host: string; mode: number; source: string }> = [];
  // Directories this copy already resolved or made (host path, and whether this copy created
  // it): resolving every parent of every file again cost a confined walk per file. Dropped for
  // a path once a symlink is written over it.
  const made = new Map<string, Promise<{ host: string; fresh: boolean }>>();
  // Paths this copy wrote: in a directory it created, nothing else can be in the way.
  const written = new Set<string>();
  // Keys are directory paths as dirname() gives them: no trailing slash.
  const destDir = dest.length > 1 ? dest.replace(/\/+$/, '') : dest;
  // Directories moved whole from the donor (container paths): what is below them is in place.
  const taken = new Set<string>();
  const underTaken = (target: string): boolean => {
    if (!taken.size) return false;
    for (let p = path.posix.dirname(target); p.length > destDir.length; p = path.posix.dirname(p)) if (taken.has(p)) return true;
    return false;
  };
  const wholeDirs = req.reuse?.donorDir ? new WholeDirTaker(req, req.reuse, req.reuse.donorDir.bind(req.reuse), sorted) : undefined;
  const destExisted = await isDirectoryIn(req.rootfs, dest);
  made.set(destDir, mkdirAllInRoot(req.rootfs, dest, owner).then((host) => ({ host, fresh: !destExisted })));
  await made.get(destDir);
  const ensureDir = (containerDir: string): Promise<{ host: string; fresh: boolean }> => {
    let d = made.get(containerDir);
    if (!d) {
      const parent = path.posix.dirname(containerDir);
      const under = parent === destDir || parent.startsWith(destDir === '/' ? '/' : `${destDir}/`);
      d = (async () => {
        // Parents first, each made once. Inside a directory this copy made, nothing can be in
        // the way: a new directory is one mkdir there, no confined walk from the root.
        const p = under && parent !== containerDir ? await ensureDir(parent) : undefined;
        if (p && (taken.has(containerDir) || underTaken(containerDir))) return { host: path.join(p.host, path.posix.basename(containerDir)), fresh: false };
        if (p?.fresh && !written.has(containerDir)) {
          const host = path.join(p.host, path.posix.basename(containerDir));
          // Synchronous, as takeUnchanged is: a thread-pool round trip per call cost more than the call.
          fsSync.mkdirSync(host, { mode: 0o755 });
          fsSync.chmodSync(host, 0o755);
          fsSync.lchownSync(host, owner.uid, owner.gid);
          return { host, fresh: true };
        }
        const existed = await isDirectoryIn(req.rootfs, containerDir);
        return { host: await mkdirAllInRoot(req.rootfs, containerDir, owner), fresh: !existed };
      })();
      d.catch(() => made.delete(containerDir));
      made.set(containerDir, d);
    }
    return d;
  };
  // Regular files are leaves: several are written at once (one at a time, a 20,000-file COPY
  // spent most of a minute waiting on single syscalls). Symlinks and a second write to the same
  // path wait for the writes in flight, so the order Docker defines still holds; a directory
  // waits only for a write to its own path (its children sort after it).
  const inFlight = new Map<string, Promise<void>>();
  // tbuild-sys copies them where it is the sys helper: many per request, and two requests in
  // flight, so that it copies while this thread reads the answer to the last. Without it, once
  // this copy has copied many files itself, the rest go to the copy pool's threads, and enough
  // at once to keep them all busy. (A rerun that takes most files from its previous result
  // never starts the pool.) tbuild-sys alone made the benchmark's cold `bigctx` build (a
  // 20,000-file COPY) 11% faster than with the pool, with 36 MB less peak memory.
  const copier = helperCopier(SYNC_COPY_MAX, req.keepSourceAttrs === true);
  let pool: CopyPool | undefined;
  let copiedHere = 0;
  const poolFor = (): CopyPool | undefined => {
    if (!copier && !pool && ++copiedHere > POOL_AFTER_FILES) pool = copyPool(SYNC_COPY_MAX);
    return pool;
  };
  let slotFreed: (() => void) | undefined;
  const failures: unknown[] = [];
  // Waits for every write in flight (even after one failed: nothing may still be writing when
  // the caller discards the snapshot), then throws the first failure.
  const drain = async (): Promise<void> => {
    await Promise.allSettled(inFlight.values());
    if (failures.length) throw failures[0];
  };
  // A write in flight at the path itself or at a parent (a file where a later entry needs a
  // directory) must land first: the directory walk then reports it as in the way.
  const pendingAt = (target: string): boolean => {
    for (let p = target; p.length > destDir.length; p = path.posix.dirname(p)) if (inFlight.has(p)) return true;
    return false;
  };
  for (const f of sorted) {
    const target = path.posix.join(dest, f.destRel);
    if (f.type === 'dir') {
      if (pendingAt(target)) await drain();
      if (wholeDirs && f.destRel !== '' && !written.has(target) && !underTaken(target) && (await ensureDir(path.posix.dirname(target))).fresh) {
        const moved = wholeDirs.take(f, target);
        if (moved) {
          taken.add(target);
          count += moved.files;
          bytes += moved.bytes;
        }
      }
      const { host } = await ensureDir(target);
      written.add(target);
      // The destination directory itself is made by the copy, like its parents: not the source's owner.
      const o = f.destRel === '' ? owner : ownerOf(req, f);
      fsSync.lchownSync(host, o.uid, o.gid);
      dirs.push({ host, mode: req.chmod ? req.chmod(f.mode, true) : f.mode & 0o7777, source: f.absPath });
      count++;
      continue;
    }
    if (f.type === 'file' && underTaken(target)) {
      written.add(target);
      continue;
    }
    if (f.type !== 'file' || pendingAt(target)) {
      await drain();
      for (const k of made.keys()) if (k === target || k.startsWith(target + '/')) made.delete(k);
    }
    while (inFlight.size >= (pool || copier ? POOL_CONCURRENCY : COPY_CONCURRENCY)) await new Promise<void>((r) => (slotFreed = r));
    if (failures.length) await drain();
    const nothingThere = written.has(target) ? false : undefined;
    written.add(target);
    const write = ensureDir(path.posix.dirname(target))
      .then((dir) => writeOne(req, f, target, late, { hostDir: dir.host, vacant: nothingThere ?? dir.fresh, poolFor, copier }))
      .then(
        (n) => {
          bytes += n;
          count++;
        },
        // Kept for drain() to throw; the promise itself never rejects.
        (e: unknown) => void failures.push(e),
      )
      .finally(() => {
        inFlight.delete(target);
        slotFreed?.();
        slotFreed = undefined;
      });
    inFlight.set(target, write);
    if (f.type !== 'file') await drain();
  }
  await drain();
  linkCopies(late.links);
  // Directories last, deepest first, once nothing more is written into them: their mode, and
  // their source's times, as files get theirs. (The times also keep an unchanged directory's
  // tar header, and so the gzip member holding it, the same from build to build.)
  // Synchronous, as small files are: four thread-pool round trips per directory were most of it.
  for (const d of dirs.reverse()) {
    fsSync.chmodSync(d.host, d.mode);
    const st = fsSync.statSync(d.source, { throwIfNoEntry: false });
    if (!st) continue;
    fsSync.utimesSync(d.host, st.atime, copyMtime(st, d.source));
    if (!req.keepSourceAttrs) continue;
    const { mtimeNs } = fsSync.statSync(d.source, { bigint: true });
    if (mtimeNs % 1_000_000n !== 0n) late.mtimes.set(d.host, mtimeNs);
  }
  await setMtimesNs([...late.mtimes]);
  return { files: count, bytes };
}

const COPY_CONCURRENCY = 16;
const POOL_CONCURRENCY = 256;
/**
 * Files a copy makes on this thread before it hands the rest to the pool: starting the pool's
 * threads costs ~30 ms of CPU each, and a COPY --from of 1,920 files (cold `nodeapp`) shares the
 * CPUs with a RUN: through the pool it made the build 3-5% slower.
 */
const POOL_AFTER_FILES = 3000;
const SYNC_COPY_MAX = 64 * 1024;

/**
 * `at.hostDir`: the parent, already resolved confined (else resolved here); the last component
 * is replaced, never written through. `at.vacant`: the parent is new and empty of this name.
 */
async function writeOne(req: CopyRequest, f: CopySource, containerPath: string, late: LateWork, at: { hostDir?: string; vacant?: boolean; poolFor?: () => CopyPool | undefined; copier?: HelperCopier } = {}): Promise<number> {
  const hostDir = at.hostDir ?? resolveIn(req.rootfs, path.posix.dirname(containerPath)).hostPath;
  const host = path.join(hostDir, path.posix.basename(containerPath));
  const existing = at.vacant ? undefined : await fs.lstat(host).catch(() => undefined);
  if (existing?.isDirectory() && f.type !== 'dir') {
    throw new BuildError({ code: 'TB_EXEC_COPY_DEST', message: `cannot copy to ${containerPath}: a directory is in the way` });
  }
  if (existing) await fs.rm(host, { force: true });
  // What replaces an earlier write of this path must not get that write's time, nor its links.
  late.mtimes.delete(host);
  const linkedAs = late.linkedAs.get(host);
  if (linkedAs !== undefined) {
    const group = late.links.get(linkedAs)!;
    group.splice(group.indexOf(host), 1);
    late.linkedAs.delete(host);
  }
  if (at.vacant && req.reuse && f.type === 'file') {
    const size = takeUnchanged(req, req.reuse, f, host);
    if (size !== undefined) return size;
  }
  if (f.type === 'symlink') {
    await fs.symlink(f.linkTarget ?? (await fs.readlink(f.absPath)), host);
    const o = ownerOf(req, f);
    await fs.lchown(host, o.uid, o.gid);
    return 0;
  }
  const { size, mtimeNs, inode, applied, attrsDone } = await copyRegular(req, f, host, at.poolFor?.(), at.copier);
  if (inode !== undefined) {
    const key = `${f.source ?? ''}\0${inode}`;
    const group = late.links.get(key);
    if (group) group.push(host);
    else late.links.set(key, [host]);
    late.linkedAs.set(host, key);
  }
  if (req.keepSourceAttrs && !attrsDone) {
    copyXattrs(f.absPath, host);
    if (mtimeNs !== undefined && mtimeNs % 1_000_000n !== 0n) late.mtimes.set(host, mtimeNs);
  }
  req.reuse?.written(f, path.relative(req.rootfs, host), fileRecord({ size, ...applied }));
  return size;
}

/**
 * A regular file's copy, with its owner, mode and (millisecond) times. Synchronous calls for a
 * small file, in the copy pool when there is one: a thread-pool round trip costs more than the
 * work (COPY --from of 301 files, stats alone: 66 -> 55 ms; 1,900 files of 4 KB on tmpfs: 88 ms
 * async, 38 ms sync), and copyFileSync twice as much as copySmall (125 against 240 ms for 1,900
 * 4 KB files into an overlay: it also truncates, chmods, and tries copy_file_range before
 * sendfile). A large file is copied on libuv's pool, so that it never stalls the others.
 */
async function copyRegular(req: CopyRequest, f: CopySource, host: string, pool: CopyPool | undefined, copier: HelperCopier | undefined): Promise<SmallCopied> {
  const ns = req.keepSourceAttrs === true;
  // -1: the source's own owner, as the copy finds it.
  const { uid, gid, mode } = copyMeta(req, f, { uid: -1, gid: -1 });
  const job = { src: f.absPath, dest: host, mode, uid, gid, ns };
  let small: SmallCopied | undefined;
  try {
    small = pool ? await pool.copy(job) : copier ? await copier.copy(job) : copySmall(fsSync, job, SYNC_COPY_MAX, setMeta, cutMtimeMs);
  } catch (e) {
    if (!isPoolDown(e)) throw e;
    small = copySmall(fsSync, job, SYNC_COPY_MAX, setMeta, cutMtimeMs);
  }
  if (small) return small;
  const st = fsSync.statSync(f.absPath);
  await fs.copyFile(f.absPath, host);
  const o = copyMeta(req, f, st);
  setMeta(fsSync.lstatSync(host), o, (uid, gid) => fsSync.chownSync(host, uid, gid), (mode) => fsSync.chmodSync(host, mode));
  const mtime = copyMtime(st, f.absPath);
  fsSync.utimesSync(host, st.atime, mtime);
  const mtimeNs = ns ? fsSync.statSync(f.absPath, { bigint: true }).mtimeNs : undefined;
  const applied = { ...o, mtimeMs: Math.round(mtime * 1000) };
  return st.nlink > 1 ? { size: st.size, mtimeNs, inode: `${st.dev}:${st.ino}`, applied } : { size: st.size, mtimeNs, applied };
}

/**
 * Work left for after every write: nanosecond mtimes by host path, set in batches (sys-helper's
 * setMtimesNs); and the copies of sources that are hard links of one another, by source inode.
 */
interface LateWork {
  mtimes: Map<string, bigint>;
  links: Map<string, string[]>;
  /** Host path → its key in `links`. */
  linkedAs: Map<string, string>;
}

/**
 * Makes the copies of one source inode hard links of the first, as the source files are. The
 * copies run concurrently, so each was written whole first; only hard-linked sources pay that.
 * Before the directories get their times: a link changes its directory.
 */
function linkCopies(links: Map<string, string[]>): void {
  for (const [first, ...rest] of links.values()) {
    for (const host of rest) {
      fsSync.unlinkSync(host);
      fsSync.linkSync(first!, host);
    }
  }
}

/** The owner and permission bits a copy of `f` (whose stat is `st`) gets. */
function copyMeta(req: CopyRequest, f: CopySource, st: { uid: number; gid: number }): { uid: number; gid: number; mode: number } {
  const owner = req.uid !== undefined ? { uid: req.uid, gid: req.gid ?? 0 } : { uid: st.uid, gid: st.gid };
  return { ...owner, mode: req.chmod ? req.chmod(f.mode, false) : f.mode & 0o7777 };
}

/**
 * Moves the donor's file into the upper dir when it is exactly what a copy would write; returns
 * its size, or undefined when it has to be copied (no donor, one that differs, any failure).
 * Straight into the upper dir: a rename cannot cross into the overlay mount, and the parent is
 * a directory this copy made, so the overlay has nothing of that name cached. Synchronous
 * calls: three thread-pool round trips per file made a 20,000-file COPY that changed one file
 * take 1.1 s, mostly waiting, for syscalls on cached metadata that take microseconds.
 */
function takeUnchanged(req: CopyRequest, reuse: CopyReuse, f: CopySource, host: string): number | undefined {
  const rel = path.relative(req.rootfs, host);
  const donor = reuse.donorFor(f, rel);
  if (!donor) return undefined;
  const same = unchangedStat(req, reuse, f, rel, donor);
  if (same === undefined) return undefined;
  try {
    fsSync.renameSync(donor, path.join(reuse.upper, rel));
  } catch {
    return undefined;
  }
  reuse.written(f, rel, same.record, same.st);
  return Number(same.st.size);
}

/**
 * Moves a directory of the donor into the upper dir in one rename when the copy would write
 * exactly what it holds: every entry below it a file takeUnchanged would take (same checks) or
 * such a directory, and nothing else in it (a file deleted from the context since must not come
 * back). A 20,000-file COPY with one edited file made 19,999 renames (~0.5 s on this disk's
 * journal); it now makes one per unchanged directory. The directories' own modes, owners and
 * times are set by the copy afterwards, as for directories it makes.
 */
class WholeDirTaker {
  readonly #req: CopyRequest;
  readonly #reuse: CopyReuse;
  readonly #donorDir: (rel: string) => string;
  /** Entries by the destRel of their parent directory. */
  readonly #children = new Map<string, CopySource[]>();

  constructor(req: CopyRequest, reuse: CopyReuse, donorDir: (rel: string) => string, sorted: CopySource[]) {
    this.#req = req;
    this.#reuse = reuse;
    this.#donorDir = donorDir;
    for (const f of sorted) {
      if (f.destRel === '') continue;
      const parent = path.posix.dirname(f.destRel);
      const key = parent === '.' ? '' : parent;
      let list = this.#children.get(key);
      if (!list) this.#children.set(key, (list = []));
      list.push(f);
    }
  }

  /** Moves the directory `f` (at container path `target`, in a directory this copy made) whole, if it can. */
  take(f: CopySource, target: string): { files: number; bytes: number } | undefined {
    const rel = target.slice(1);
    const donor = this.#donorDir(rel);
    const files: Array<[CopySource, string, Unchanged]> = [];
    if (!this.#matches(f.destRel, rel, donor, files)) return undefined;
    try {
      fsSync.renameSync(donor, path.join(this.#reuse.upper, rel));
    } catch {
      return undefined;
    }
    let bytes = 0;
    for (const [file, fileRel, same] of files) {
      this.#reuse.written(file, fileRel, same.record, same.st);
      bytes += Number(same.st.size);
    }
    return { files: files.length, bytes };
  }

  #matches(destRel: string, rel: string, donor: string, files: Array<[CopySource, string, Unchanged]>): boolean {
    const kids = this.#children.get(destRel) ?? [];
    let entries: fsSync.Dirent[];
    try {
      entries = fsSync.readdirSync(donor, { withFileTypes: true });
    } catch {
      return false;
    }
    if (entries.length !== kids.length || new Set(kids.map((k) => path.posix.basename(k.destRel))).size !== kids.length) return false;
    const types = new Map(entries.map((e) => [e.name, e]));
    for (const k of kids) {
      const name = path.posix.basename(k.destRel);
      const kidRel = joinClean(rel, name);
      const at = joinClean(donor, name);
      const there = types.get(name);
      if (k.type === 'dir') {
        if (!there?.isDirectory() || !this.#matches(k.destRel, kidRel, at, files)) return false;
        continue;
      }
      if (k.type !== 'file' || !there?.isFile() || this.#reuse.donorFor(k, kidRel) !== at) return false;
      const same = unchangedStat(this.#req, this.#reuse, k, kidRel, at);
      if (same === undefined) return false;
      files.push([k, kidRel, same]);
    }
    return true;
  }
}

/** A donor file that is exactly what copying its source would write: its stat for the layer's walk, and its record. */
interface Unchanged {
  st: fsSync.BigIntStats;
  record: string;
}

/**
 * Whether the donor's file at `rel` is exactly what copying `f` would write. Its note's record
 * of what it was written with says so without touching the disk; a note without one (an older
 * tbuild's) is checked with an lstat, in bigint since the layer's walk takes it as the moved
 * file's (copy-donor.ts).
 */
function unchangedStat(req: CopyRequest, reuse: CopyReuse, f: CopySource, rel: string, donor: string): Unchanged | undefined {
  try {
    const st = sourceStat(f);
    const want = { size: st.size, mtimeMs: st.mtime, ...copyMeta(req, f, st) };
    const record = fileRecord(want);
    const recorded = reuse.recorded?.(rel);
    if (recorded !== undefined) return recorded === record ? { st: recordedStat(want), record } : undefined;
    const d = fsSync.lstatSync(donor, { bigint: true });
    // A copy sets the mtime to the millisecond through a double (utimes), so it lands within a
    // microsecond of it: compared rounded to the millisecond.
    const mtimeMs = Number((d.mtimeNs + 500_000n) / 1_000_000n);
    // A single link only: a moved file must look like a fresh copy to RUN, link count included.
    if (!d.isFile() || d.nlink !== 1n || d.size !== BigInt(st.size) || mtimeMs !== st.mtime || d.uid !== BigInt(want.uid) || d.gid !== BigInt(want.gid) || Number(d.mode & 0o7777n) !== want.mode) return undefined;
    return { st: d, record };
  } catch {
    return undefined;
  }
}

function sourceStat(f: CopySource): { size: number; mtime: number; uid: number; gid: number } {
  if (f.size !== undefined && f.mtimeMs !== undefined && f.uid !== undefined && f.gid !== undefined) {
    return { size: f.size, mtime: cutMtimeMs(f.mtimeMs, () => exactMtimeNs(f.absPath)), uid: f.uid, gid: f.gid };
  }
  const st = fsSync.statSync(f.absPath);
  return { size: st.size, mtime: cutMtimeMs(st.mtimeMs, () => exactMtimeNs(f.absPath)), uid: st.uid, gid: st.gid };
}

/** The mtime a copy of `source` (whose stat is `st`) gets, in seconds for utimes: cutMtimeMs's millisecond. */
function copyMtime(st: fsSync.Stats, source: string): number {
  return cutMtimeMs(st.mtimeMs, () => exactMtimeNs(source)) / 1000;
}

function exactMtimeNs(p: string): bigint {
  return fsSync.statSync(p, { bigint: true }).mtimeNs;
}

function ownerOf(req: CopyRequest, f: CopySource): { uid: number; gid: number } {
  if (req.uid !== undefined) return { uid: req.uid, gid: req.gid ?? 0 };
  const st = fsSync.lstatSync(f.absPath);
  return { uid: st.uid, gid: st.gid };
}
