import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { hostPython } from '@tbuild/cache';

/**
 * mount(2), umount2(2) and utimensat(2) for a process that has none of them (Node has no mount
 * calls, and its utimes loses nanoseconds). One long-lived python3 per tbuild process answers
 * JSON requests on a pipe: a RUN used to exec mount(8), umount(8) and touch(1), ~5 ms each on
 * this machine, and python3 starts once (~60 ms, while other work goes on). python3 is already a
 * dependency (the cache's extractor creates device nodes with it). Without python3, or if the
 * helper dies, callers fall back to the exec they used before.
 */
export type SysRequest =
  | { op: 'mount'; source: string; target: string; fstype: string; data: string; cwd?: string }
  | { op: 'umount'; target: string; detach?: boolean }
  | { op: 'utimens'; path: string; atimeNs: string; mtimeNs: string }
  /** [path, mtimeNs] pairs; each keeps its atime. Stops at the first failure. */
  | { op: 'mtimes'; items: Array<[string, string]> };

export type SysReply = { ok: true } | { ok: false; errno: string; message: string };

const SCRIPT = String.raw`
import ctypes, errno, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
enc = lambda s: s.encode('utf-8', 'surrogateescape')
sys.stdout.write('ready\n')
sys.stdout.flush()
for line in sys.stdin:
    req = json.loads(line)
    out = {'id': req['id'], 'ok': True}
    try:
        op = req['op']
        if op == 'mount':
            os.chdir(req.get('cwd') or '/')
            r = libc.mount(enc(req['source']), enc(req['target']), enc(req['fstype']), 0, enc(req['data']))
        elif op == 'umount':
            r = libc.umount2(enc(req['target']), 2 if req.get('detach') else 0)
        elif op == 'utimens':
            os.utime(req['path'], ns=(int(req['atimeNs']), int(req['mtimeNs'])), follow_symlinks=False)
            r = 0
        elif op == 'mtimes':
            for p, m in req['items']:
                os.utime(p, ns=(os.lstat(p).st_atime_ns, int(m)), follow_symlinks=False)
            r = 0
        else:
            raise ValueError('unknown op ' + op)
        if r != 0:
            e = ctypes.get_errno()
            out = {'id': req['id'], 'ok': False, 'errno': errno.errorcode.get(e, str(e)), 'message': os.strerror(e)}
    except OSError as e:
        out = {'id': req['id'], 'ok': False, 'errno': errno.errorcode.get(e.errno, str(e.errno)), 'message': e.strerror or str(e)}
    except Exception as e:
        out = {'id': req['id'], 'ok': False, 'errno': 'EINVAL', 'message': str(e)}
    sys.stdout.write(json.dumps(out) + '\n')
    sys.stdout.flush()
`;

class SysHelper {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (r: SysReply) => void>();
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
        if (line === 'ready') {
          this.#ready = true;
          this.#onReady(true);
          continue;
        }
        const r = JSON.parse(line) as { id: number; ok: boolean; errno?: string; message?: string };
        const done = this.#pending.get(r.id);
        this.#pending.delete(r.id);
        done?.(r.ok ? { ok: true } : { ok: false, errno: r.errno ?? 'EIO', message: r.message ?? 'failed' });
      }
    });
  }

  get alive(): boolean {
    return !this.#dead;
  }

  /** Undefined until python has started: the caller execs meanwhile rather than wait ~60 ms. */
  request(req: SysRequest): Promise<SysReply> | undefined {
    if (this.#dead || !this.#ready) return undefined;
    const id = this.#next++;
    // Kept referenced while an answer is due, so a build waiting on it is not cut short.
    if (this.#pending.size === 0) (this.#child.stdout as unknown as { ref?: () => void }).ref?.();
    const answer = new Promise<SysReply>((resolve) =>
      this.#pending.set(id, (r) => {
        if (this.#pending.size === 0) (this.#child.stdout as unknown as { unref?: () => void }).unref?.();
        resolve(r);
      }),
    );
    this.#child.stdin!.write(`${JSON.stringify({ ...req, id })}\n`);
    return answer;
  }

  #fail(): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#onReady(false);
    // Unanswered requests are retried by their callers the old way.
    for (const done of this.#pending.values()) done({ ok: false, errno: 'EHELPER', message: 'helper exited' });
    this.#pending.clear();
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

/** Starts the helper now; resolves whether it runs (tests wait for it; builds just go on). */
export function startSysHelper(): Promise<boolean> {
  sysHelper();
  return shared ? shared.started : Promise.resolve(false);
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
