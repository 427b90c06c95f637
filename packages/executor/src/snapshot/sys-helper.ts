import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { hostPython } from '@tbuild/cache';
import { PYTHON_SYS_HELPER } from './sys-helper-python.ts';
import { encodeRequest, parseLine, type SysReply, type SysRequest } from './sys-helper-wire.ts';

export type { SysReply, SysRequest } from './sys-helper-wire.ts';

/**
 * mount(2), umount2(2) and utimensat(2) for a process that has none of them (Node has no mount
 * calls, and its utimes loses nanoseconds). One long-lived helper per tbuild process answers
 * requests on a pipe: a RUN used to exec mount(8), umount(8) and touch(1), ~5 ms each on this
 * machine (~25 and ~40 ms for the first). The helper is tbuild-sys (native/sys.c) where the CLI
 * has it, else a python3 script; without either, or if the helper dies, callers fall back to the
 * exec they used before. It also starts `runc run` for RUNs (posix_spawn from a small process
 * instead of a fork of tbuild's large one, see runtime/helper-process.ts) and reports when each
 * such program exits.
 */

/** A program the helper started: its pid, the helper's descriptors of its output pipes, and its end. */
export interface HelperSpawn {
  pid: number;
  /** Paths that open the read ends of its stdout and stderr pipes until they are released. */
  stdoutPath: string;
  stderrPath: string;
  exited: Promise<ProcessEnd>;
}

/** How a process ended; `lost` when the helper died first and its end is unknown. */
export type ProcessEnd = { code: number; signal?: undefined } | { code?: undefined; signal: number } | { lost: true; code?: undefined; signal?: undefined };

type RawReply = { id: number; ok: boolean; errno?: string; message?: string; pid?: number; stdout?: number; stderr?: number; items?: string[]; exited?: Promise<ProcessEnd> };

const START_TIMEOUT_MS = 5000;

/** tbuild-sys started before this process (by the thin client, native/client.c): its pid and this process's ends of its pipes. */
export interface StartedSysHelper {
  pid: number;
  /** Writes to its stdin. */
  requests: number;
  /** Reads its stdout. */
  replies: number;
}

/** How tbuild talks to its helper, whether it spawned it or was handed one. */
interface HelperLink {
  pid: number | undefined;
  stdin: NodeJS.WritableStream;
  stdout: NodeJS.ReadableStream;
  kill(): void;
}

function spawnedLink(helper: { native: string } | { python: string }, fail: () => void): HelperLink {
  const child: ChildProcess = 'native' in helper ? spawn(helper.native, [], { stdio: ['pipe', 'pipe', 'ignore'] }) : spawn(helper.python, ['-S', '-c', PYTHON_SYS_HELPER], { stdio: ['pipe', 'pipe', 'ignore'] });
  // Never keeps tbuild alive; it exits when its stdin closes with tbuild.
  child.unref();
  child.on('error', fail);
  child.on('exit', fail);
  return { pid: child.pid, stdin: child.stdin!, stdout: child.stdout!, kill: () => child.kill('SIGKILL') };
}

function startedLink(started: StartedSysHelper, fail: () => void): HelperLink {
  const stdin = new net.Socket({ fd: started.requests, readable: false, writable: true });
  const stdout = new net.Socket({ fd: started.replies, readable: true, writable: false });
  // Its stdout ends when it exits: it is not this process's child as far as Node.js knows.
  stdout.on('close', fail);
  stdout.on('error', fail);
  return {
    pid: started.pid,
    stdin,
    stdout,
    kill: () => {
      try {
        process.kill(started.pid, 'SIGKILL');
      } catch {
        /* gone already */
      }
    },
  };
}

class SysHelper {
  readonly #child: HelperLink;
  /** tbuild-sys: it starts in ~1 ms, so requests wait for it rather than exec meanwhile. */
  readonly #native: boolean;
  readonly #pending = new Map<number, (r: RawReply) => void>();
  /** Programs started through `spawn` whose end has not been reported yet. */
  readonly #running = new Map<number, (end: ProcessEnd) => void>();
  #next = 0;
  #buf = '';
  #dead = false;
  #ready = false;
  #onReady: (ok: boolean) => void = () => undefined;
  /** Settles once the helper has started (true) or could not (false). */
  readonly started = new Promise<boolean>((r) => (this.#onReady = r));

  constructor(helper: { native: string } | { python: string } | { started: StartedSysHelper }) {
    this.#native = !('python' in helper);
    const fail = (): void => this.#fail();
    this.#child = 'started' in helper ? startedLink(helper.started, fail) : spawnedLink(helper, fail);
    (this.#child.stdin as unknown as { unref?: () => void }).unref?.();
    (this.#child.stdout as unknown as { unref?: () => void }).unref?.();
    this.#child.stdin.on('error', fail);
    // Requests wait for tbuild-sys to start: one that never says it is ready (not the program
    // tbuild built) is given up on, and they are done the old way.
    if (this.#native) {
      setTimeout(() => {
        if (this.#ready) return;
        this.#child.kill();
        this.#fail();
      }, START_TIMEOUT_MS).unref();
    }
    this.#child.stdout.on('data', (d: Buffer) => {
      this.#buf += d.toString();
      let nl: number;
      while ((nl = this.#buf.indexOf('\n')) >= 0) {
        const r = parseLine(this.#buf.slice(0, nl));
        this.#buf = this.#buf.slice(nl + 1);
        if (!r) continue;
        if (r.kind === 'ready') {
          this.#probeFd = r.probeFd;
          this.#ready = true;
          this.#onReady(true);
          continue;
        }
        if (r.kind === 'exit') {
          const end = this.#running.get(r.pid);
          this.#running.delete(r.pid);
          end?.(r.signal !== undefined ? { signal: r.signal } : { code: r.code ?? 0 });
          this.#updateRef();
          continue;
        }
        const raw: RawReply = { ...r };
        // A program's end is reported after its spawn's answer, maybe in this same chunk: be
        // ready for it before the answer is handed on.
        if (r.ok && r.pid !== undefined) raw.exited = new Promise<ProcessEnd>((resolve) => this.#running.set(r.pid!, resolve));
        const done = this.#pending.get(r.id);
        this.#pending.delete(r.id);
        done?.(raw);
        this.#updateRef();
      }
    });
  }

  /** Whether a request made before the start waits for it (tbuild-sys) or is not made (python3). */
  get waitsForStart(): boolean {
    return this.#native;
  }

  get alive(): boolean {
    return !this.#dead;
  }

  /** Undefined until python3 has started: the caller execs meanwhile rather than wait ~60 ms. tbuild-sys is waited for. */
  request(req: SysRequest): Promise<SysReply> | undefined {
    return this.#send(req)?.then((r) => (r.ok ? { ok: true } : { ok: false, errno: r.errno ?? 'EIO', message: r.message ?? 'failed' }));
  }

  /**
   * Starts `argv` from the helper, which forks a small process instead of tbuild's large one,
   * with `env` (`NAME=value`) set over the helper's environment. Undefined when the helper is not
   * up; rejects with the errno as `code` when the program could not be started.
   */
  spawn(argv: string[], env: string[] = []): Promise<HelperSpawn> | undefined {
    const answer = this.#send({ op: 'spawn', argv, env });
    if (!answer) return undefined;
    return answer.then((r) => {
      if (!r.ok || r.pid === undefined || !r.exited) throw Object.assign(new Error(`${argv[0]}: ${r.message ?? 'could not start'}`), { code: r.errno });
      const fdPath = (fd: number | undefined) => `/proc/${this.#child.pid}/fd/${fd}`;
      return { pid: r.pid, stdoutPath: fdPath(r.stdout), stderrPath: fdPath(r.stderr), exited: r.exited };
    });
  }

  /** A pipe the helper holds (its signal wake-up pipe), named in its `ready` line. */
  #probeFd: number | undefined;
  #fdsReadable: boolean | undefined;

  /**
   * Whether this process may open the helper's pipes through /proc (not where /proc is mounted
   * with hidepid, or the helper is not ours to read): tried once on a pipe it holds, opened
   * without reading and closed at once. Without it, programs are spawned by tbuild.
   */
  get canSpawn(): boolean {
    if (!this.#ready) return false;
    if (this.#fdsReadable === undefined) {
      try {
        fs.closeSync(fs.openSync(`/proc/${this.#child.pid}/fd/${this.#probeFd}`, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK));
        this.#fdsReadable = true;
      } catch {
        this.#fdsReadable = false;
      }
    }
    return this.#fdsReadable;
  }

  /**
   * Small files copied by tbuild-sys: an item per job (native/sys.c's `copied`). Undefined from
   * python3, which has no such request, and when the helper is gone.
   */
  copy(req: Extract<SysRequest, { op: 'copy' }>): Promise<string[] | undefined> | undefined {
    if (!this.#native) return undefined;
    return this.#send(req)?.then((r) => (r.ok && r.items?.length === req.jobs.length ? r.items : undefined));
  }

  /** Lets the helper close its ends of a spawned program's pipes, once tbuild has opened them. */
  release(pid: number): void {
    void this.#send({ op: 'release', pid });
  }

  #send(req: SysRequest): Promise<RawReply> | undefined {
    if (this.#dead) return undefined;
    if (!this.#ready) return this.#native ? keepingAlive(this.started).then(() => this.#send(req) ?? HELPER_GONE) : undefined;
    const id = this.#next++;
    const frame = encodeRequest(id, req);
    if (!frame) return Promise.resolve({ id, ok: false, errno: 'EINVAL', message: 'an argument holds a NUL byte' });
    const answer = new Promise<RawReply>((resolve) => this.#pending.set(id, resolve));
    this.#updateRef();
    this.#child.stdin.write(frame);
    return answer;
  }

  /** Referenced while an answer or a program's end is due, so a build waiting on it is not cut short. */
  #updateRef(): void {
    const stdout = this.#child.stdout as unknown as { ref?: () => void; unref?: () => void };
    if (this.#pending.size + this.#running.size > 0) stdout.ref?.();
    else stdout.unref?.();
  }

  #fail(): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#onReady(false);
    // Unanswered requests are retried by their callers the old way.
    for (const done of this.#pending.values()) done(HELPER_GONE);
    this.#pending.clear();
    for (const end of this.#running.values()) end({ lost: true });
    this.#running.clear();
  }
}

const HELPER_GONE: RawReply = { id: -1, ok: false, errno: 'EHELPER', message: 'helper exited' };

/**
 * Holds tbuild alive until `p` settles. The helper's pipes never do, so a wait for its start
 * must: a build whose only pending work was that wait (a COPY --from of cached layers, setting
 * its nanosecond times) otherwise ended with exit code 0 halfway, mounts left behind.
 */
function keepingAlive<T>(p: Promise<T>): Promise<T> {
  const keepAlive = setInterval(() => undefined, 60_000);
  return p.finally(() => clearInterval(keepAlive));
}

let shared: SysHelper | undefined | null;
let native: string | undefined;
let started: StartedSysHelper | undefined;

/**
 * Uses the tbuild-sys the thin client started for this build (native/client.c) as the helper,
 * instead of spawning one: a spawn from Node.js forks this whole process, ~13-16 ms of the main
 * thread on the way to a build's first mount. Call before the first request.
 */
export function useStartedSysHelper(helper: StartedSysHelper): void {
  started = helper;
}

/**
 * Runs tbuild-sys at `path` (native/sys.c, built beside the CLI's bundle) as the sys helper,
 * where it is executable, instead of python3. Call before the first request.
 */
export function useNativeSysHelper(path: string): void {
  native = path;
}

function newHelper(): SysHelper | null {
  if (started) return new SysHelper({ started });
  if (native) {
    try {
      fs.accessSync(native, fs.constants.X_OK);
      return new SysHelper({ native });
    } catch {
      // not built here (no C compiler): python3 then
    }
  }
  const python = hostPython();
  return python ? new SysHelper({ python }) : null;
}

/** The process's helper, started on first use; undefined when there is none or it died. */
export function sysHelper(): { request(req: SysRequest): Promise<SysReply> | undefined } | undefined {
  if (process.env.TBUILD_NO_SYS_HELPER) return undefined;
  if (shared === undefined) shared = newHelper();
  return shared && shared.alive ? shared : undefined;
}

/** The process's helper when one is up; never starts one. */
function helperIfUp(): SysHelper | undefined {
  return !process.env.TBUILD_NO_SYS_HELPER && shared?.alive ? shared : undefined;
}

/**
 * `SysHelper.spawn` through the process's helper; undefined, or a promise of undefined, when
 * there is none up to do it (the caller spawns it itself).
 */
export function spawnThroughHelper(argv: string[], env: string[] = []): Promise<HelperSpawn | undefined> | undefined {
  if (!sysHelper()) return undefined;
  const helper = shared!;
  if (helper.canSpawn) return helper.spawn(argv, env);
  if (!helper.waitsForStart) return undefined;
  return keepingAlive(helper.started).then(() => (helper.canSpawn ? helper.spawn(argv, env) : undefined));
}

/**
 * Whether the process's helper is tbuild-sys, which copies small files (copyThroughHelper),
 * unless TBUILD_SYS_COPY=0. Never starts it: a build has, for the mount a COPY writes into.
 */
export function canCopyThroughHelper(): boolean {
  return process.env.TBUILD_SYS_COPY !== '0' && helperIfUp()?.waitsForStart === true;
}

/**
 * `SysHelper.copy` through the process's helper: undefined when none is up or it is not
 * tbuild-sys, or a promise of undefined when it died first (the caller copies the files itself).
 */
export function copyThroughHelper(req: Extract<SysRequest, { op: 'copy' }>): Promise<string[] | undefined> | undefined {
  return helperIfUp()?.copy(req);
}

export function releaseThroughHelper(pid: number): void {
  if (shared && shared.alive) shared.release(pid);
}

/**
 * Takes flock(2)'s exclusive lock on this process's descriptor `fd` through the helper, if one is
 * up: true once held (the lock is the open file's, as with flock(1)). False when none is up
 * (starting one is the fork this saves), when another process holds the lock (the helper never
 * waits), or when the kernel has no pidfd_getfd(2): the caller then waits in flock(1).
 */
export async function lockThroughHelper(fd: number): Promise<boolean> {
  const answer = helperIfUp()?.request({ op: 'flock', pid: process.pid, fd });
  return answer ? (await answer).ok : false;
}

/** Starts the helper now; resolves whether it runs. */
export function startSysHelper(): Promise<boolean> {
  sysHelper();
  if (!shared) return Promise.resolve(false);
  return keepingAlive(shared.started);
}

/** Sends `req` through the helper; undefined means "do it the old way" (no helper, or it died). */
export async function viaHelper(req: SysRequest): Promise<SysReply | undefined> {
  const answer = sysHelper()?.request(req);
  if (!answer) return undefined;
  const r = await answer;
  return !r.ok && r.errno === 'EHELPER' ? undefined : r;
}

/**
 * Sets a path's mtime to the nanosecond, not following a final symlink (the differ compares
 * times exactly, as BuildKit does; COPY --from keeps them).
 * Node's utimes goes through a double, which holds whole seconds (an image's times, from tar)
 * exactly but not arbitrary nanoseconds; those go through the sys helper's utimensat, or
 * touch(1) without it (an exec that cost ~5 ms per parent on every RUN).
 */
export async function setMtimeNs(hostPath: string, mtimeNs: bigint): Promise<void> {
  const st = fs.lstatSync(hostPath, { bigint: true });
  if (mtimeNs % 1_000_000_000n === 0n) {
    fs.lutimesSync(hostPath, new Date(Number(st.atimeMs)), Number(mtimeNs / 1_000_000_000n));
    if (fs.lstatSync(hostPath, { bigint: true }).mtimeNs === mtimeNs) return;
  }
  const r = await viaHelper({ op: 'utimens', path: hostPath, atimeNs: st.atimeNs.toString(), mtimeNs: mtimeNs.toString() });
  if (r?.ok) return;
  const stamp = `@${mtimeNs / 1_000_000_000n}.${(mtimeNs % 1_000_000_000n).toString().padStart(9, '0')}`;
  execFileSync('touch', ['-h', '-m', '-d', stamp, '--', hostPath]);
}

const MTIMES_PER_REQUEST = 1000;

/**
 * setMtimeNs for many paths: one helper request per thousand, where a request each cost a
 * COPY --from of 1,800 files ~0.1 s of JSON and pipe round trips. Waits for the helper to start.
 */
export async function setMtimesNs(items: Array<[string, bigint]>): Promise<void> {
  const helped = items.length > 0 && (await startSysHelper());
  for (let i = 0; i < items.length; i += MTIMES_PER_REQUEST) {
    const chunk = items.slice(i, i + MTIMES_PER_REQUEST);
    const r = helped ? await viaHelper({ op: 'mtimes', items: chunk.map(([p, ns]) => [p, ns.toString()]) }) : undefined;
    if (r?.ok) continue;
    for (const [p, ns] of chunk) await setMtimeNs(p, ns);
  }
}
