import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hostPython } from '@tbuild/cache';
import { BuildError } from '@tbuild/errors';
import { ownerAlive, writeOwner } from '../snapshot/owner.ts';
import { warmCgroupAttach } from './cgroup-warmup.ts';
import type { ContainerRuntime, RunIO, RunRequest, RunResult } from './container-runtime.ts';
import { type QuietProcess, signalNamed, spawnQuiet } from './helper-process.ts';
import { MountStubs } from './mount-stubs.ts';
import { buildOciSpec, DEFAULT_CAPABILITIES } from './oci-spec.ts';
import { loadSeccomp, ociSeccomp } from './seccomp.ts';
import { checkCwd, checkKernelMountPoints, ensureCwd, prepareMountPoints, writeEtcFiles } from './prepare-rootfs.ts';
import { execFileAsync } from '../exec-file.ts';

export interface RuncRuntimeOptions {
  /** tbuild's state dir: runc state goes to `<stateDir>/runc`, bundles to `<stateDir>/bundles/<id>`. */
  stateDir: string;
  /** The runc binary, default `runc` from PATH. */
  runc?: string;
  /** `linux.seccomp` for every container; default docker's profile (`seccomp.ts`), `null` for none. */
  seccomp?: object | null;
}

/*
 * runc is Go, whose runtime by default runs goroutines on a thread per CPU, for a process that
 * lives ~80 ms. On one: ~90 fewer page faults and ~7% less CPU per `runc run` here (cold `stacked`
 * 1.1% faster). runc clears its environment before it starts the step's process, which never sees it.
 */
const RUNC_ENV: Record<string, string> = { GOMAXPROCS: '1' };
/** The same, as the sys helper's `spawn` takes it. */
const RUNC_ENV_ENTRIES = Object.entries(RUNC_ENV).map(([k, v]) => `${k}=${v}`);

let defaultSeccomp: { spec: object | undefined } | undefined;

/** The profile (`loadSeccomp`) for the default capabilities, read and selected once per process. */
function defaultSeccompSpec(): object | undefined {
  if (!defaultSeccomp) {
    const loaded = loadSeccomp();
    defaultSeccomp = { spec: loaded && ociSeccomp(loaded.profile, DEFAULT_CAPABILITIES, { dockerRules: loaded.system }) };
  }
  return defaultSeccomp.spec;
}

/**
 * `ContainerRuntime` on runc: one `runc run` per RUN, foreground, stdio piped straight through.
 * See `ContainerRuntime` for the contract.
 */
export class RuncRuntime implements ContainerRuntime {
  readonly #stateDir: string;
  /** Null: none. Undefined: the default, read at the first run (a warm build runs none). */
  readonly #seccomp: object | null | undefined;
  readonly #runc: string;

  constructor(opts: RuncRuntimeOptions) {
    this.#stateDir = path.resolve(opts.stateDir);
    this.#runc = opts.runc ?? 'runc';
    this.#seccomp = opts.seccomp;
  }

  get #runcRoot(): string {
    return path.join(this.#stateDir, 'runc');
  }

  async run(req: RunRequest, io: RunIO, signal?: AbortSignal): Promise<RunResult> {
    if (req.args.length === 0) throw new Error('RunRequest.args is empty');
    if (signal?.aborted) throw cancelled();
    checkKernelMountPoints(req.rootfs);
    const cwd = checkCwd(req.rootfs, req.cwd);
    void warmCgroupAttach();
    const id = `tb-${crypto.randomBytes(6).toString('hex')}`;
    const bundle = path.join(this.#stateDir, 'bundles', id);
    fs.mkdirSync(bundle, { recursive: true, mode: 0o711 });
    const stubs = new MountStubs(req.rootfs);
    try {
      writeOwner(bundle);
      const etc = writeEtcFiles(bundle, req);
      ensureCwd(req.rootfs, cwd, req.user);
      prepareMountPoints(stubs, req);
      fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(buildOciSpec({ ...req, cwd }, etc, this.#seccomp === undefined ? defaultSeccompSpec() : (this.#seccomp ?? undefined))));
      return await this.#runBundle(id, bundle, req, io, signal);
    } finally {
      // A foreground `runc run` that exits removes its state itself; only one that was killed
      // leaves a container behind (an exec of runc per RUN saved otherwise).
      if (fs.existsSync(path.join(this.#runcRoot, id))) await this.#runc_(['delete', '--force', id]).catch(() => undefined);
      await stubs.removeAll();
      fs.rmSync(bundle, { recursive: true, force: true });
    }
  }

  async #runBundle(id: string, bundle: string, req: RunRequest, io: RunIO, signal?: AbortSignal): Promise<RunResult> {
    const log = path.join(bundle, 'runc.log');
    const runcArgv = [this.#runc, '--root', this.#runcRoot, '--log', log, '--log-format', 'json', 'run', '--bundle', bundle, id];
    const { exited, kill } = await this.#startRunc(runcArgv, req, io);

    let reason: 'abort' | 'timeout' | undefined;
    let stopping: Promise<void> | undefined;
    const stop = (why: 'abort' | 'timeout') => {
      reason ??= why;
      stopping ??= this.#kill(id, kill, exited);
    };
    const onAbort = () => stop('abort');
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) stop('abort'); // aborted while the bundle was being prepared
    const timer = req.limits?.timeoutMs !== undefined ? setTimeout(() => stop('timeout'), req.limits.timeoutMs) : undefined;
    let result: { code: number | null; sig: NodeJS.Signals | null };
    try {
      result = await exited;
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ENOENT') {
        throw new BuildError({
          code: 'TB_EXEC_RUNTIME_NOT_FOUND',
          message: `${this.#runc} not found`,
          hint: 'install Debian package `runc`, or pass the runc binary path',
        });
      }
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
    }
    await stopping;
    if (reason === 'abort') throw cancelled();

    const startError = readRuncError(log);
    if (startError !== undefined && reason === undefined) {
      throw new BuildError({
        code: 'TB_EXEC_START_FAILED',
        message: `could not start ${JSON.stringify(req.args[0])}: ${startError}`,
        hint: 'check that the program exists in the image and is executable',
      });
    }
    const exitCode = result.code ?? 128 + (os.constants.signals[result.sig ?? 'SIGKILL'] ?? 9);
    const out: RunResult = { exitCode };
    const sigName = signalName(exitCode);
    if (sigName) out.signal = sigName;
    if (reason === 'timeout') out.timedOut = true;
    return out;
  }

  /**
   * Starts `runc run`: through the sys helper when nothing is fed to it (see helper-process.ts),
   * else as tbuild's own child, with a pty relay for a terminal.
   */
  async #startRunc(runcArgv: string[], req: RunRequest, io: RunIO): Promise<{ exited: Promise<{ code: number | null; sig: NodeJS.Signals | null }>; kill: () => void }> {
    if (!req.terminal && !io.stdin) {
      let quiet: QuietProcess | undefined;
      try {
        quiet = await spawnQuiet(runcArgv, RUNC_ENV_ENTRIES);
      } catch (e) {
        return { exited: Promise.reject(e), kill: () => undefined };
      }
      if (quiet) {
        quiet.stdout.on('data', (b: Buffer) => io.onStdout(b));
        quiet.stderr.on('data', (b: Buffer) => io.onStderr(b));
        return { exited: quiet.closed, kill: quiet.kill };
      }
    }
    const cmd = req.terminal ? ptyRelay(runcArgv, req.terminal, io.stdin !== undefined) : { command: runcArgv[0]!, args: runcArgv.slice(1) };
    const child = spawn(cmd.command, cmd.args, { env: { ...process.env, ...RUNC_ENV }, stdio: [io.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', req.terminal ? 'pipe' : 'ignore'] });
    child.stdout!.on('data', (b: Buffer) => io.onStdout(b));
    child.stderr!.on('data', (b: Buffer) => io.onStderr(b));
    if (io.stdin && child.stdin) {
      child.stdin.on('error', () => undefined); // the process may exit without reading it all
      io.stdin.pipe(child.stdin);
    }
    if (req.terminal) relayResizes(child.stdio[3] as NodeJS.WritableStream | null, io.onResizer);
    const exited = new Promise<{ code: number | null; sig: NodeJS.Signals | null }>((resolve, reject) => {
      const unpipe = () => io.stdin && child.stdin && io.stdin.unpipe(child.stdin);
      child.once('error', (e) => {
        unpipe();
        reject(e);
      });
      child.once('close', (code, sig) => {
        unpipe();
        resolve({ code, sig });
      });
    });
    return { exited, kill: () => child.kill('SIGKILL') };
  }

  /** Kills the container's init (and with it the whole pid namespace), then makes sure runc exits. */
  async #kill(id: string, killRunc: () => void, exited: Promise<unknown>): Promise<void> {
    let done = false;
    void exited.then(
      () => (done = true),
      () => (done = true),
    );
    for (let i = 0; i < 10 && !done; i++) {
      // Fails while runc is still creating the container; retry until it exists or runc is gone.
      await this.#runc_(['kill', id, 'KILL']).catch(() => undefined);
      await Promise.race([exited.catch(() => undefined), sleep(50)]);
    }
    if (!done) {
      killRunc();
      await exited.catch(() => undefined);
    }
  }

  /** See `ptyRelay`; for `runc exec --tty` by the containers package. */
  static ptyRelay(argv: string[], size: { rows: number; cols: number }, withStdin: boolean): { command: string; args: string[] } {
    return ptyRelay(argv, size, withStdin);
  }

  /** See `relayResizes`; for `runc exec --tty` by the containers package. */
  static relayResizes(control: NodeJS.WritableStream | null, onResizer?: (resize: (rows: number, cols: number) => void) => void): void {
    relayResizes(control, onResizer);
  }

  async #runc_(args: string[]): Promise<void> {
    await execFileAsync(this.#runc, ['--root', this.#runcRoot, ...args], { timeout: 10_000 });
  }

  /**
   * Kills and deletes containers, and removes bundles, left by tbuild processes that died
   * without cleaning up. Containers of live processes sharing the state dir are left alone.
   * Returns the ids of the containers removed.
   */
  async cleanupStale(): Promise<string[]> {
    const removed: string[] = [];
    const bundles = path.join(this.#stateDir, 'bundles');
    let listed: { id: string; bundle: string }[] = [];
    try {
      const { stdout } = await execFileAsync(this.#runc, ['--root', this.#runcRoot, 'list', '--format', 'json'], { timeout: 10_000 });
      listed = (JSON.parse(stdout || 'null') as { id: string; bundle: string }[] | null) ?? [];
    } catch {
      listed = [];
    }
    for (const c of listed) {
      if (fs.existsSync(c.bundle) && ownerAlive(c.bundle)) continue;
      await this.#runc_(['kill', c.id, 'KILL']).catch(() => undefined);
      await this.#runc_(['delete', '--force', c.id]).catch(() => undefined);
      removed.push(c.id);
    }
    for (const name of safeReaddir(bundles)) {
      const dir = path.join(bundles, name);
      if (!ownerAlive(dir)) fs.rmSync(dir, { recursive: true, force: true });
    }
    return removed;
  }
}

/** Removes runc containers and bundles of dead tbuild processes under `stateDir`. */
export async function cleanupStaleContainers(stateDir: string, runc?: string): Promise<string[]> {
  return new RuncRuntime({ stateDir, runc }).cleanupStale();
}

function cancelled(): BuildError {
  return new BuildError({ code: 'TB_EXEC_CANCELLED', message: 'the build was cancelled' });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function signalName(exitCode: number): string | undefined {
  if (exitCode <= 128 || exitCode > 128 + 64) return undefined;
  return signalNamed(exitCode - 128);
}

/** runc's own error (it logs "runc run failed: …" when it could not start the process). */
function readRuncError(log: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(log, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    try {
      const rec = JSON.parse(line) as { level?: string; msg?: string };
      if ((rec.level === 'error' || rec.level === 'fatal') && rec.msg) return rec.msg.replace(/^runc run failed: /, '');
    } catch {
      /* not a JSON line */
    }
  }
  return undefined;
}

/**
 * Foreground `runc run`/`runc exec` with `terminal: true` copies between the container's pty and
 * its own stdio, but only when one of those is a terminal ("open /dev/tty: no such device or
 * address" otherwise), and a container's supervisor has none. So runc gets a pty of its own from
 * this small python helper (node cannot open ptys), put in raw mode so bytes pass through to the
 * container's pty untouched. The helper relays its stdin (when `withStdin`) to that pty, sending
 * ^D on EOF (^D^D after a partial line), and the pty's output to its stdout; fd 3 takes
 * "ROWS COLS" lines, applied to runc's pty with a SIGWINCH so runc resizes the container's. It
 * exits with runc's code (128+n for a signal) once runc and its pty are gone.
 */
function ptyRelay(argv: string[], size: { rows: number; cols: number }, withStdin: boolean): { command: string; args: string[] } {
  return { command: hostPython() ?? 'python3', args: ['-c', PTY_RELAY, String(size.rows), String(size.cols), withStdin ? '1' : '0', '1', ...argv] };
}

/** Hands `onResizer` a function that sends a new size to a pty relay's fd 3 (`control`). */
function relayResizes(control: NodeJS.WritableStream | null, onResizer?: (resize: (rows: number, cols: number) => void) => void): void {
  if (!control) return;
  control.on('error', () => undefined);
  onResizer?.((rows, cols) => void control.write(`${Math.floor(rows)} ${Math.floor(cols)}\n`));
}

// Non-blocking writes with a bounded queue: a process that writes while we feed it must never deadlock.
const PTY_RELAY = String.raw`
import fcntl, os, select, signal, struct, subprocess, sys, termios, tty
rows, cols, feed, ctl = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == '1', (3 if sys.argv[4] == '1' else None)
m, s = os.openpty()
tty.setraw(s)
def size(r, c):
    if r > 0 and c > 0: fcntl.ioctl(m, termios.TIOCSWINSZ, struct.pack('HHHH', r, c, 0, 0))
size(rows, cols)
p = subprocess.Popen(sys.argv[5:], stdin=s, stdout=s, stderr=s)
os.close(s)
os.set_blocking(m, False)
inp, pend, last, cbuf = (0 if feed else None), b'', b'\n', b''
while True:
    rd = [m] + ([inp] if inp is not None and len(pend) < 65536 else []) + ([ctl] if ctl is not None else [])
    r, w, _ = select.select(rd, [m] if pend else [], [])
    if m in w:
        try: pend = pend[os.write(m, pend):]
        except BlockingIOError: pass
    if inp in r:
        d = os.read(inp, 65536)
        if d: pend += d; last = d[-1:]
        else: pend += b'\x04' if last in (b'\n', b'\r') else b'\x04\x04'; inp = None
    if ctl in r:
        try: d = os.read(ctl, 4096)
        except OSError: d = b''
        if not d: ctl = None
        cbuf += d
        while b'\n' in cbuf:
            line, cbuf = cbuf.split(b'\n', 1)
            try: size(*map(int, line.split())); p.send_signal(signal.SIGWINCH)
            except (ValueError, TypeError, OSError): pass
    if m in r:
        try: d = os.read(m, 65536)
        except BlockingIOError: continue
        except OSError: break
        if not d: break
        os.write(1, d)
code = p.wait()
sys.exit(code if code >= 0 else 128 - code)
`;
