import { spawn } from 'node:child_process';
import { resolveUser, RuncRuntime, warmCgroupAttach } from '@tbuild/executor';
import type { ContainerStore } from './container-store.ts';
import { containerError } from './errors.ts';
import { mergeEnv } from './run-config.ts';
import { RuncControl } from './runc.ts';
import { reconcileState } from './state.ts';

/** `tbuild exec` options; the process inherits the container's env, user and working dir unless given. */
export interface ExecOptions {
  args: string[];
  env?: string[];
  hostEnv?: Record<string, string | undefined>;
  user?: string;
  workdir?: string;
  /** Piped to the process (`-i`); without it the process gets no stdin. */
  stdin?: NodeJS.ReadableStream;
  /** `-t`: a pseudo-terminal of this size; its output (stdout and stderr merged) goes to `stdout`. */
  tty?: { rows: number; cols: number };
  /** With `tty`: called with a function that resizes the terminal. */
  onResizer?(resize: (rows: number, cols: number) => void): void;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  signal?: AbortSignal;
}

/**
 * Runs a process inside a running container (runc exec: same namespaces, cgroup, capabilities
 * and rlimits as the container's init) and resolves with its exit code. Its output goes to the
 * caller, not to the container's log, as with docker.
 */
export async function execInContainer(cs: ContainerStore, idOrName: string, o: ExecOptions): Promise<number> {
  if (o.args.length === 0) throw containerError('TB_CONTAINER_NO_COMMAND', 'no command specified for exec');
  const rec = cs.resolve(idOrName);
  const s = await reconcileState(cs, rec);
  if (s.status !== 'running' || !s.runcId) throw containerError('TB_CONTAINER_NOT_RUNNING', `container ${rec.name} is not running`);
  const p = cs.paths(rec.id);
  const u = resolveUser(p.rootfs, o.user ?? rec.config.User ?? '');
  const env = mergeEnv(rec.config.Env ?? [], o.env ?? [], o.hostEnv ?? {});
  if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${u.home}`);
  if (o.tty && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');
  const control = new RuncControl(p.runtime);
  const args = control.execArgs(s.runcId, {
    args: o.args,
    env,
    cwd: o.workdir ?? (rec.config.WorkingDir || '/'),
    uid: u.uid,
    gid: u.gid,
    additionalGids: u.additionalGids,
  });
  if (o.tty) args.splice(args.indexOf('exec') + 1, 0, '--tty');
  // runc's own tty handling needs a terminal on its side: RuncRuntime's pty relay provides one.
  const cmd = o.tty ? RuncRuntime.ptyRelay([control.runc, ...args], o.tty, o.stdin !== undefined) : { command: control.runc, args };
  void warmCgroupAttach(); // `runc exec` moves the process into the container's cgroups, as `runc run` does
  const child = spawn(cmd.command, cmd.args, { stdio: [o.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', o.tty ? 'pipe' : 'ignore'] });
  if (o.tty) RuncRuntime.relayResizes(child.stdio[3] as NodeJS.WritableStream | null, o.onResizer);
  child.stdout!.on('data', (b: Buffer) => o.stdout.write(b));
  child.stderr!.on('data', (b: Buffer) => o.stderr.write(b));
  if (o.stdin && child.stdin) {
    child.stdin.on('error', () => undefined);
    o.stdin.pipe(child.stdin);
  }
  const onAbort = (): void => void child.kill('SIGTERM');
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, sig) => resolve(code ?? 128 + (sig === 'SIGKILL' ? 9 : 15)));
    });
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    if (o.stdin && child.stdin) o.stdin.unpipe(child.stdin);
  }
}
