import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { BuildError } from '@tbuild/errors';
import { ownerAlive, writeOwner } from '../snapshot/owner.ts';
import type { ContainerRuntime, RunIO, RunRequest, RunResult } from './container-runtime.ts';
import { MountStubs } from './mount-stubs.ts';
import { buildOciSpec } from './oci-spec.ts';
import { checkCwd, checkKernelMountPoints, ensureCwd, prepareMountPoints, writeEtcFiles } from './prepare-rootfs.ts';

const execFileP = promisify(execFile);

export interface RuncRuntimeOptions {
  /** tbuild's state dir: runc state goes to `<stateDir>/runc`, bundles to `<stateDir>/bundles/<id>`. */
  stateDir: string;
  /** The runc binary, default `runc` from PATH. */
  runc?: string;
}

/**
 * `ContainerRuntime` on runc: one `runc run` per RUN, foreground, stdio piped straight through.
 * See `ContainerRuntime` for the contract.
 */
export class RuncRuntime implements ContainerRuntime {
  readonly #stateDir: string;
  readonly #runc: string;

  constructor(opts: RuncRuntimeOptions) {
    this.#stateDir = path.resolve(opts.stateDir);
    this.#runc = opts.runc ?? 'runc';
  }

  get #runcRoot(): string {
    return path.join(this.#stateDir, 'runc');
  }

  async run(req: RunRequest, io: RunIO, signal?: AbortSignal): Promise<RunResult> {
    if (req.args.length === 0) throw new Error('RunRequest.args is empty');
    if (signal?.aborted) throw cancelled();
    checkKernelMountPoints(req.rootfs);
    const cwd = checkCwd(req.rootfs, req.cwd);
    const id = `tb-${crypto.randomBytes(6).toString('hex')}`;
    const bundle = path.join(this.#stateDir, 'bundles', id);
    fs.mkdirSync(bundle, { recursive: true, mode: 0o711 });
    const stubs = new MountStubs(req.rootfs);
    try {
      writeOwner(bundle);
      const etc = writeEtcFiles(bundle, req);
      ensureCwd(req.rootfs, cwd, req.user);
      prepareMountPoints(stubs, req);
      fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(buildOciSpec({ ...req, cwd }, etc)));
      return await this.#runBundle(id, bundle, req, io, signal);
    } finally {
      await this.#runc_(['delete', '--force', id]).catch(() => undefined);
      stubs.removeAll();
      fs.rmSync(bundle, { recursive: true, force: true });
    }
  }

  async #runBundle(id: string, bundle: string, req: RunRequest, io: RunIO, signal?: AbortSignal): Promise<RunResult> {
    const log = path.join(bundle, 'runc.log');
    const child = spawn(this.#runc, ['--root', this.#runcRoot, '--log', log, '--log-format', 'json', 'run', '--bundle', bundle, id], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (b: Buffer) => io.onStdout(b));
    child.stderr.on('data', (b: Buffer) => io.onStderr(b));
    const exited = new Promise<{ code: number | null; sig: NodeJS.Signals | null }>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, sig) => resolve({ code, sig }));
    });

    let reason: 'abort' | 'timeout' | undefined;
    let stopping: Promise<void> | undefined;
    const stop = (why: 'abort' | 'timeout') => {
      reason ??= why;
      stopping ??= this.#kill(id, child, exited);
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

  /** Kills the container's init (and with it the whole pid namespace), then makes sure runc exits. */
  async #kill(id: string, child: ReturnType<typeof spawn>, exited: Promise<unknown>): Promise<void> {
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
      child.kill('SIGKILL');
      await exited.catch(() => undefined);
    }
  }

  async #runc_(args: string[]): Promise<void> {
    await execFileP(this.#runc, ['--root', this.#runcRoot, ...args], { timeout: 10_000 });
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
      const { stdout } = await execFileP(this.#runc, ['--root', this.#runcRoot, 'list', '--format', 'json'], { timeout: 10_000 });
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
  const n = exitCode - 128;
  return Object.entries(os.constants.signals).find(([, v]) => v === n)?.[0];
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
