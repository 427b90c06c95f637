import type tty from 'node:tty';
import {
  connectAttach,
  ContainerStore,
  superviseContainer,
  type ContainerState,
  type LogRecord,
  type SupervisorLauncher,
} from '@tbuild/containers';
import { BuildError, renderError } from '@tbuild/errors';
import { openStore } from '../../api/store.ts';
import { str, usageError, type FlagValues } from '../args.ts';
import type { CliContext } from '../command.ts';
import { write } from '../command.ts';
import { storeRoot } from '../root.ts';

/** Helpers shared by the container commands (container-run.ts and containers.ts). */

export async function containers(ctx: CliContext, flags: FlagValues): Promise<ContainerStore> {
  return ContainerStore.open(await openStore(storeRoot(ctx, flags)));
}

/**
 * Detached containers are watched by a supervisor process that outlives this CLI: this same
 * binary, re-run with the hidden `__supervise` command (see superviseContainer for why).
 */
export function launcher(): SupervisorLauncher {
  const self = process.argv[1];
  if (!self) throw new Error('cannot locate the tbuild entry script to start a container supervisor');
  return (t) => ({ command: process.execPath, args: [...process.execArgv, self, '__supervise', '--root', t.storeRoot, t.id, t.startId] });
}

export function intFlag(v: FlagValues[string], name: string): number | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  if (!/^-?\d+$/.test(s)) throw usageError(`invalid value "${s}" for --${name}: expected an integer`);
  return Number(s);
}

/** A container that could not start: docker prints the reason and exits 125/126/127. */
export function startFailure(ctx: CliContext, s: ContainerState): number {
  write(ctx.stderr, renderError(new BuildError({ code: 'TB_CONTAINER_START_FAILED', message: s.error, hint: 'check that the command exists in the image and is executable' })));
  return s.exitCode || 125;
}

export function printRecord(ctx: CliContext, r: LogRecord, timestamps: boolean): void {
  const text = timestamps ? `${r.time} ${r.log}` : r.log;
  (r.stream === 'stderr' ? ctx.stderr : ctx.stdout).write(text);
}

/** The CLI's terminal size when stdout is one: docker's initial console size for `-t`. */
export function terminalSize(ctx: CliContext): { rows: number; cols: number } | undefined {
  const out = ctx.stdout as Partial<tty.WriteStream>;
  return out.isTTY && out.rows && out.columns ? { rows: out.rows, cols: out.columns } : undefined;
}

/** Calls `resize` with the new size whenever the CLI's terminal changes (SIGWINCH); returns the unsubscribe. */
export function watchResize(ctx: CliContext, resize: (rows: number, cols: number) => void): () => void {
  const out = ctx.stdout as Partial<tty.WriteStream> & NodeJS.EventEmitter;
  if (!out.isTTY) return () => undefined;
  const on = (): void => {
    if (out.rows && out.columns) resize(out.rows, out.columns);
  };
  out.on('resize', on);
  return () => void out.off('resize', on);
}

/**
 * `-it` on a terminal: raw mode, so keys (^C, ^D, arrows) reach the container's tty unchanged,
 * as with docker. Returns the restore, which also runs at process exit should the CLI be cut short.
 */
export function rawStdin(ctx: CliContext): () => void {
  const input = ctx.stdin as Partial<tty.ReadStream>;
  if (!input.isTTY || typeof input.setRawMode !== 'function') return () => undefined;
  input.setRawMode(true);
  const restore = (): void => {
    process.off('exit', restore);
    try {
      input.setRawMode!(false);
    } catch {
      /* the terminal is gone */
    }
  };
  process.once('exit', restore);
  return restore;
}

/**
 * Connects an attached `run -i/-t` to its container's supervisor (see attach-socket.ts): our
 * stdin to the process (its end, the process's EOF), and our terminal's size changes. Returns
 * the detach, which also stops reading stdin so the CLI can exit while stdin is still open.
 */
export async function attachStdio(ctx: CliContext, dir: string, o: { stdin: boolean; tty: boolean; waiting: () => boolean }): Promise<() => void> {
  const undo: (() => void)[] = [];
  const detach = (): void => {
    for (const f of undo.reverse()) f();
    undo.length = 0;
  };
  try {
    if (o.stdin && o.tty) undo.push(rawStdin(ctx));
    if (o.stdin) {
      const sock = await connectAttach(dir, 'i', o.waiting);
      if (sock) {
        ctx.stdin.pipe(sock);
        undo.push(() => {
          ctx.stdin.unpipe(sock);
          ctx.stdin.pause();
          sock.destroy();
        });
      }
    }
    if (o.tty && terminalSize(ctx)) {
      const sock = await connectAttach(dir, 'w', o.waiting);
      if (sock) {
        const unwatch = watchResize(ctx, (rows, cols) => sock.write(`${rows} ${cols}\n`));
        undo.push(() => {
          unwatch();
          sock.destroy();
        });
      }
    }
  } catch (e) {
    detach();
    throw e;
  }
  return detach;
}
