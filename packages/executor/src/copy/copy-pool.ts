import fsSync from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';

/** One small file to copy: the source, where it goes, its permission bits, and its owner (-1: the source's). */
export interface SmallCopy {
  src: string;
  dest: string;
  mode: number;
  uid: number;
  gid: number;
  /** Report the source's mtime to the nanosecond. */
  ns: boolean;
}

/**
 * What was written: bytes, the owner, mode and millisecond mtime the copy got, the source's mtime
 * in nanoseconds when asked for, and `dev:ino` when the source has other links.
 */
export interface SmallCopied {
  size: number;
  applied: { mtimeMs: number; uid: number; gid: number; mode: number };
  mtimeNs?: bigint;
  inode?: string;
  /** Its xattrs and nanosecond mtime are set already, where the copy keeps them (helper-copy.ts). */
  attrsDone?: true;
}

/**
 * Owner and mode, where the new file's (`made`) differ: each is a metadata write to the disk's
 * journal. A chown clears setuid/setgid, so chmod follows it. (Sent to the workers as source
 * text, as copySmall is.)
 */
export function setMeta(made: fsSync.Stats, o: { uid: number; gid: number; mode: number }, chown: (uid: number, gid: number) => void, chmod: (mode: number) => void): void {
  const chowned = made.uid !== o.uid || made.gid !== o.gid;
  if (chowned) chown(o.uid, o.gid);
  if (chowned || (made.mode & 0o7777) !== o.mode) chmod(o.mode);
}

/**
 * The millisecond a copy's mtime is set to: the source's, cut rather than rounded (as Node's
 * Stats.mtime is), so a copy never moves into the next second, which a layer's tar header (whole
 * seconds) would show. A double that reads a whole second may be a time just before it, rounded
 * up; `exactNs` then decides. (Sent to the workers as source text, as copySmall is.)
 */
export function cutMtimeMs(mtimeMs: number, exactNs: () => bigint): number {
  const ms = Math.floor(mtimeMs);
  return ms === mtimeMs && ms % 1000 === 0 ? Number(exactNs() / 1_000_000n) : ms;
}

/**
 * Copies a source of at most `max` bytes: read whole from one descriptor (whose stat decides),
 * written through another, which then takes its owner, mode and times. Undefined when the
 * source is no longer a small regular file (the caller copies it its own way).
 *
 * Runs on the main thread and in the copy pool's workers, whose code is this function's source
 * text: so it uses nothing but its arguments (`meta` is setMeta, `cut` cutMtimeMs).
 */
export function copySmall(fs: typeof fsSync, job: SmallCopy, max: number, meta: typeof setMeta, cut: typeof cutMtimeMs): SmallCopied | undefined {
  // Non-blocking: a source swapped for a FIFO since it was selected must not hang the open.
  const from = fs.openSync(job.src, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  let st: fsSync.Stats;
  let data: Buffer;
  let mtimeNs: bigint | undefined;
  let mtimeMs: number;
  try {
    st = fs.fstatSync(from);
    if (!st.isFile() || st.size > max) return undefined;
    if (job.ns) mtimeNs = fs.fstatSync(from, { bigint: true }).mtimeNs;
    mtimeMs = cut(st.mtimeMs, () => mtimeNs ?? fs.fstatSync(from, { bigint: true }).mtimeNs);
    data = fs.readFileSync(from);
  } finally {
    fs.closeSync(from);
  }
  const owner = { uid: job.uid < 0 ? st.uid : job.uid, gid: job.gid < 0 ? st.gid : job.gid, mode: job.mode };
  const to = fs.openSync(job.dest, 'w', st.mode & 0o7777);
  try {
    for (let at = 0; at < data.length; ) at += fs.writeSync(to, data, at);
    meta(fs.fstatSync(to), owner, (uid, gid) => fs.fchownSync(to, uid, gid), (mode) => fs.fchmodSync(to, mode));
    // To the millisecond, as takeUnchanged compares them; finer mtimes are the caller's to set.
    fs.futimesSync(to, st.atime, mtimeMs / 1000);
  } finally {
    fs.closeSync(to);
  }
  const applied = { ...owner, mtimeMs };
  return st.nlink > 1 ? { size: data.length, applied, mtimeNs, inode: `${st.dev}:${st.ino}` } : { size: data.length, applied, mtimeNs };
}

type Outcome = { ok: SmallCopied | null } | { error: { message: string; code?: string; errno?: number; syscall?: string; path?: string } };
/** What a job gets once the pool has stopped: the caller copies on its own thread (isPoolDown). */
const DOWN = { error: { message: 'copy pool is down', code: 'TB_POOL_DOWN' } } satisfies Outcome;

const WORKER_SOURCE = `
const fs = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const setMeta = ${setMeta.toString()};
const cutMtimeMs = ${cutMtimeMs.toString()};
const copySmall = ${copySmall.toString()};
parentPort.on('message', ({ id, jobs }) => {
  const out = jobs.map((job) => {
    try {
      return { ok: copySmall(fs, job, workerData.max, setMeta, cutMtimeMs) ?? null };
    } catch (e) {
      return { error: { message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path } };
    }
  });
  parentPort.postMessage({ id, out });
});
`;

interface Batch {
  jobs: SmallCopy[];
  settle: Array<(o: Outcome) => void>;
}

/**
 * Worker threads that copy small files, one per CPU: creating a file on a journaled disk costs
 * tens of microseconds of kernel time, and one thread making them all was most of a 20,000-file
 * COPY (1.3 s on one thread against 0.5-0.6 s on two, measured alone). Jobs go out in batches,
 * a message per batch and not per file. An idle worker never keeps the process alive, and a pool
 * whose worker failed stops taking jobs: the caller copies on its own thread.
 */
export class CopyPool {
  readonly #workers: Array<{ worker: Worker; inFlight: number }> = [];
  readonly #waiting = new Map<number, Batch>();
  #queue: Batch = { jobs: [], settle: [] };
  #flushing = false;
  #next = 0;
  broken = false;

  constructor(size: number, max: number) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { max } });
      const slot = { worker, inFlight: 0 };
      worker.on('message', ({ id, out }: { id: number; out: Outcome[] }) => {
        const batch = this.#waiting.get(id)!;
        this.#waiting.delete(id);
        if (--slot.inFlight === 0) worker.unref();
        out.forEach((o, k) => batch.settle[k]!(o));
      });
      worker.on('error', () => this.#fail());
      worker.on('exit', () => this.#fail());
      // Only while it has work: an idle pool never keeps the process alive, a busy one must
      // (the build may be waiting on nothing else). After the listeners, which ref it again.
      worker.unref();
      this.#workers.push(slot);
    }
  }

  /** The copy done in a worker; undefined when the source is not a small regular file now. */
  copy(job: SmallCopy): Promise<SmallCopied | undefined> {
    return new Promise<Outcome>((settle) => {
      if (this.broken) return settle(DOWN);
      this.#queue.jobs.push(job);
      this.#queue.settle.push(settle);
      if (!this.#flushing) {
        this.#flushing = true;
        // What the caller queues before its microtasks have run goes out together.
        queueMicrotask(() => this.#flush());
      }
    }).then((o) => {
      if ('error' in o) throw Object.assign(new Error(o.error.message), o.error);
      return o.ok ?? undefined;
    });
  }

  #flush(): void {
    this.#flushing = false;
    const all = this.#queue;
    this.#queue = { jobs: [], settle: [] };
    if (this.broken) return all.settle.forEach((s) => s(DOWN));
    // Split across the workers, the least busy first.
    const slots = [...this.#workers].sort((a, b) => a.inFlight - b.inFlight);
    const per = Math.ceil(all.jobs.length / slots.length);
    for (let i = 0, s = 0; i < all.jobs.length; i += per, s++) {
      const id = this.#next++;
      const batch = { jobs: all.jobs.slice(i, i + per), settle: all.settle.slice(i, i + per) };
      this.#waiting.set(id, batch);
      if (slots[s]!.inFlight++ === 0) slots[s]!.worker.ref();
      slots[s]!.worker.postMessage({ id, jobs: batch.jobs });
    }
  }

  #fail(): void {
    if (this.broken) return;
    this.broken = true;
    for (const batch of this.#waiting.values()) batch.settle.forEach((s) => s(DOWN));
    this.#waiting.clear();
    for (const { worker } of this.#workers) void worker.terminate();
  }
}

/** A copy pool that stopped working: the copy is to be done on the caller's thread instead. */
export function isPoolDown(e: unknown): boolean {
  return (e as { code?: unknown })?.code === DOWN.error.code;
}

let pool: CopyPool | undefined;

/**
 * The process's copy pool, started on first use; undefined on one CPU, with TBUILD_COPY_THREADS=0,
 * or once it has failed. `max`: the largest file it copies.
 */
export function copyPool(max: number): CopyPool | undefined {
  if (pool?.broken) return undefined;
  if (pool) return pool;
  const env = process.env.TBUILD_COPY_THREADS;
  const size = env !== undefined && /^\d+$/.test(env) ? Number(env) : Math.min(os.availableParallelism(), 4);
  if (size < 2 && env === undefined) return undefined;
  if (size < 1) return undefined;
  pool = new CopyPool(size, max);
  return pool;
}
