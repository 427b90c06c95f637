import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { hostPython } from '@tbuild/cache';

/**
 * mount(2), umount2(2) and utimensat(2) for a process that has none of them (Node has no mount
 * calls, and its utimes loses nanoseconds). One long-lived python3 per tbuild process answers
 * JSON requests on a pipe: a RUN used to exec mount(8), umount(8) and touch(1), ~5 ms each on
 * this machine, and python3 starts once (~60 ms, while other work goes on). python3 is already a
 * dependency (the cache's extractor creates device nodes with it). Without python3, or if the
 * helper dies, callers fall back to the exec they used before. It also starts `runc run` for
 * RUNs (posix_spawn from a small process instead of a fork of tbuild's large one, see
 * runtime/helper-process.ts) and reports when each such program exits.
 */
export type SysRequest =
  | { op: 'mount'; source: string; target: string; fstype: string; data: string; cwd?: string }
  | { op: 'umount'; target: string; detach?: boolean }
  | { op: 'utimens'; path: string; atimeNs: string; mtimeNs: string }
  /** [path, mtimeNs] pairs; each keeps its atime. Stops at the first failure. */
  | { op: 'mtimes'; items: Array<[string, string]> }
  /** posix_spawnp(3) with stdin /dev/null; stdout and stderr are pipes kept open until `release`. */
  | { op: 'spawn'; argv: string[] }
  | { op: 'release'; pid: number };

export type SysReply = { ok: true } | { ok: false; errno: string; message: string };

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

const SCRIPT = String.raw`
import ctypes, errno, json, os, select, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
enc = lambda s: s.encode('utf-8', 'surrogateescape')
# ^C reaches the whole process group: tbuild cleans up through this helper, so it stays; it
# exits when tbuild closes its stdin. Spawned programs get every signal's default back.
signal.signal(signal.SIGINT, signal.SIG_IGN)
SIGDEF = [s for s in signal.valid_signals() if s not in (signal.SIGKILL, signal.SIGSTOP)]
wake_r, wake_w = os.pipe()
os.set_blocking(wake_r, False)
os.set_blocking(wake_w, False)
signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
signal.signal(signal.SIGCHLD, lambda *a: None)
held = {}
def send(obj):
    data = (json.dumps(obj) + '\n').encode()
    while data:
        data = data[os.write(1, data):]
def reap():
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        ev = {'event': 'exit', 'pid': pid}
        if os.WIFSIGNALED(status):
            ev['signal'] = os.WTERMSIG(status)
        else:
            ev['code'] = os.WEXITSTATUS(status)
        send(ev)
def handle(req):
    out = {'id': req['id'], 'ok': True}
    try:
        op = req['op']
        r = 0
        if op == 'mount':
            os.chdir(req.get('cwd') or '/')
            r = libc.mount(enc(req['source']), enc(req['target']), enc(req['fstype']), 0, enc(req['data']))
        elif op == 'umount':
            r = libc.umount2(enc(req['target']), 2 if req.get('detach') else 0)
        elif op == 'utimens':
            os.utime(req['path'], ns=(int(req['atimeNs']), int(req['mtimeNs'])), follow_symlinks=False)
        elif op == 'mtimes':
            for p, m in req['items']:
                os.utime(p, ns=(os.lstat(p).st_atime_ns, int(m)), follow_symlinks=False)
        elif op == 'spawn':
            # stdout and stderr are pipes whose read ends tbuild opens through /proc, then releases.
            ro, wo = os.pipe()
            re, we = os.pipe()
            try:
                actions = [(os.POSIX_SPAWN_OPEN, 0, '/dev/null', os.O_RDONLY, 0), (os.POSIX_SPAWN_DUP2, wo, 1), (os.POSIX_SPAWN_DUP2, we, 2)]
                pid = os.posix_spawnp(req['argv'][0], req['argv'], os.environ, file_actions=actions, setsigdef=SIGDEF)
            except BaseException:
                os.close(ro)
                os.close(re)
                raise
            finally:
                os.close(wo)
                os.close(we)
            held[pid] = (ro, re)
            out.update(pid=pid, stdout=ro, stderr=re)
        elif op == 'release':
            for fd in held.pop(req['pid'], ()):
                os.close(fd)
        else:
            raise ValueError('unknown op ' + op)
        if r != 0:
            e = ctypes.get_errno()
            out = {'id': req['id'], 'ok': False, 'errno': errno.errorcode.get(e, str(e)), 'message': os.strerror(e)}
    except OSError as e:
        out = {'id': req['id'], 'ok': False, 'errno': errno.errorcode.get(e.errno, str(e.errno)), 'message': e.strerror or str(e)}
    except Exception as e:
        out = {'id': req['id'], 'ok': False, 'errno': 'EINVAL', 'message': str(e)}
    send(out)
os.write(1, b'ready %d\n' % wake_r)
buf = b''
while True:
    ready = select.select([0, wake_r], [], [])[0]
    if wake_r in ready:
        try:
            os.read(wake_r, 512)
        except BlockingIOError:
            pass
        reap()
    if 0 in ready:
        chunk = os.read(0, 1 << 16)
        if not chunk:
            break
        buf += chunk
        while b'\n' in buf:
            line, buf = buf.split(b'\n', 1)
            handle(json.loads(line))
`;

type RawReply = { id: number; ok: boolean; errno?: string; message?: string; pid?: number; stdout?: number; stderr?: number; exited?: Promise<ProcessEnd> };
type ExitEvent = { event: 'exit'; pid: number; code?: number; signal?: number };

class SysHelper {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (r: RawReply) => void>();
  /** Programs started through `spawn` whose end has not been reported yet. */
  readonly #running = new Map<number, (end: ProcessEnd) => void>();
  #next = 0;
  #buf = '';
  #dead = false;
  #ready = false;
  #onReady: (ok: boolean) => void = () => undefined;
  /** Settles once python has started (true) or could not (false). */
  readonly started = new Promise<boolean>((r) => (this.#onReady = r));

  constructor(python: string) {
    this.#child = spawn(python, ['-S', '-c', SCRIPT], { stdio: ['pipe', 'pipe', 'ignore'] });
    // Never keeps tbuild alive; it exits when its stdin closes with tbuild.
    this.#child.unref();
    (this.#child.stdin as unknown as { unref?: () => void }).unref?.();
    (this.#child.stdout as unknown as { unref?: () => void }).unref?.();
    this.#child.stdin!.on('error', () => this.#fail());
    this.#child.on('error', () => this.#fail());
    this.#child.on('exit', () => this.#fail());
    this.#child.stdout!.on('data', (d: Buffer) => {
      this.#buf += d.toString();
      let nl: number;
      while ((nl = this.#buf.indexOf('\n')) >= 0) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        if (line.startsWith('ready')) {
          this.#probeFd = Number(line.split(' ')[1]);
          this.#ready = true;
          this.#onReady(true);
          continue;
        }
        const r = JSON.parse(line) as RawReply | ExitEvent;
        if ('event' in r) {
          const end = this.#running.get(r.pid);
          this.#running.delete(r.pid);
          end?.(r.signal !== undefined ? { signal: r.signal } : { code: r.code ?? 0 });
          this.#updateRef();
          continue;
        }
        // A program's end is reported after its spawn's answer, maybe in this same chunk: be
        // ready for it before the answer is handed on.
        if (r.ok && r.pid !== undefined) r.exited = new Promise<ProcessEnd>((resolve) => this.#running.set(r.pid!, resolve));
        const done = this.#pending.get(r.id);
        this.#pending.delete(r.id);
        done?.(r);
        this.#updateRef();
      }
    });
  }

  get alive(): boolean {
    return !this.#dead;
  }

  /** Undefined until python has started: the caller execs meanwhile rather than wait ~60 ms. */
  request(req: SysRequest): Promise<SysReply> | undefined {
    return this.#send(req)?.then((r) => (r.ok ? { ok: true } : { ok: false, errno: r.errno ?? 'EIO', message: r.message ?? 'failed' }));
  }

  /**
   * Starts `argv` from the helper, which forks a small process instead of tbuild's large one.
   * Undefined when the helper is not up; rejects with the errno as `code` when the program
   * could not be started.
   */
  spawn(argv: string[]): Promise<HelperSpawn> | undefined {
    const answer = this.#send({ op: 'spawn', argv });
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

  /** Lets the helper close its ends of a spawned program's pipes, once tbuild has opened them. */
  release(pid: number): void {
    void this.#send({ op: 'release', pid });
  }

  #send(req: SysRequest): Promise<RawReply> | undefined {
    if (this.#dead || !this.#ready) return undefined;
    const id = this.#next++;
    const answer = new Promise<RawReply>((resolve) => this.#pending.set(id, resolve));
    this.#updateRef();
    this.#child.stdin!.write(`${JSON.stringify({ ...req, id })}\n`);
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
    for (const done of this.#pending.values()) done({ id: -1, ok: false, errno: 'EHELPER', message: 'helper exited' });
    this.#pending.clear();
    for (const end of this.#running.values()) end({ lost: true });
    this.#running.clear();
  }
}

let shared: SysHelper | undefined | null;

/** The process's helper, started on first use; undefined when there is no python3 or it died. */
export function sysHelper(): { request(req: SysRequest): Promise<SysReply> | undefined } | undefined {
  if (process.env.TBUILD_NO_SYS_HELPER) return undefined;
  if (shared === undefined) {
    const python = hostPython();
    shared = python ? new SysHelper(python) : null;
  }
  return shared && shared.alive ? shared : undefined;
}

/** `SysHelper.spawn` through the process's helper; undefined when there is none up. */
export function spawnThroughHelper(argv: string[]): Promise<HelperSpawn> | undefined {
  return sysHelper() && shared!.canSpawn ? shared!.spawn(argv) : undefined;
}

export function releaseThroughHelper(pid: number): void {
  if (shared && shared.alive) shared.release(pid);
}

/**
 * Starts the helper now; resolves whether it runs. The helper's pipes never keep tbuild alive,
 * so a wait for python's start does: a build whose only pending work was that wait (a COPY
 * --from of cached layers, setting its nanosecond times) otherwise ended with exit code 0
 * halfway, mounts left behind.
 */
export function startSysHelper(): Promise<boolean> {
  sysHelper();
  if (!shared) return Promise.resolve(false);
  const keepAlive = setInterval(() => undefined, 60_000);
  return shared.started.finally(() => clearInterval(keepAlive));
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
