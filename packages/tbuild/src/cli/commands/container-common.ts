import {
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

export function unsupported(message: string, hint: string): BuildError {
  return new BuildError({ code: 'TB_CONTAINER_UNSUPPORTED', message, hint });
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
