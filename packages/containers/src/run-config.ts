import type { ContainerConfig } from '@tbuild/registry';
import { containerError } from './errors.ts';

/** The parts of `tbuild run` that override the image config (docker's rules). */
export interface ConfigOverrides {
  /** Arguments after IMAGE: replace the image's Cmd. */
  command?: string[];
  /** `--entrypoint`: `''` clears the image's Entrypoint; any value also drops the image's Cmd. */
  entrypoint?: string;
  /** `-e`/`--env-file` entries in order: `K=V`, or `K` to copy the value from `hostEnv`. */
  env?: string[];
  hostEnv?: Record<string, string | undefined>;
  workdir?: string;
  user?: string;
  stopSignal?: string;
  hostname?: string;
  labels?: Record<string, string>;
}

/**
 * The effective config of a new container: the image's config with the run's overrides, and the
 * process (`path` + `args`) it starts. Pure: the same inputs give the same result.
 *
 * Docker's rules: arguments after the image replace Cmd; `--entrypoint` replaces Entrypoint
 * and, when no arguments are given, also drops the image's Cmd (it belonged to the old
 * entrypoint); `-e` adds or replaces variables by name; `-w`/`-u` replace WorkingDir/User.
 * An empty process is TB_CONTAINER_NO_COMMAND.
 */
export function resolveContainerConfig(image: ContainerConfig | undefined, o: ConfigOverrides): { path: string; args: string[]; config: ContainerConfig } {
  const base = image ?? {};
  let entrypoint = base.Entrypoint ?? [];
  let cmd = base.Cmd ?? [];
  if (o.entrypoint !== undefined) {
    entrypoint = o.entrypoint === '' ? [] : [o.entrypoint];
    cmd = [];
  }
  if (o.command && o.command.length > 0) cmd = o.command;
  const argv = [...entrypoint, ...cmd];
  if (argv.length === 0) {
    throw containerError('TB_CONTAINER_NO_COMMAND', 'no command specified', { hint: 'give a command after the image name, or build the image with CMD or ENTRYPOINT' });
  }
  const config: ContainerConfig = { ...base };
  config.Env = mergeEnv(base.Env ?? [], o.env ?? [], o.hostEnv ?? {});
  config.Entrypoint = entrypoint.length > 0 ? entrypoint : null;
  config.Cmd = cmd.length > 0 ? cmd : null;
  if (o.workdir !== undefined) config.WorkingDir = o.workdir;
  if (o.user !== undefined) config.User = o.user;
  if (o.stopSignal !== undefined) config.StopSignal = o.stopSignal;
  if (o.hostname !== undefined) config.Hostname = o.hostname;
  if (o.labels) config.Labels = { ...(base.Labels ?? {}), ...o.labels };
  return { path: argv[0]!, args: argv.slice(1), config };
}

/** Adds or replaces `K=V` entries by name, keeping the image's order; `K` alone copies from `hostEnv` or is dropped. */
export function mergeEnv(base: string[], overrides: string[], hostEnv: Record<string, string | undefined>): string[] {
  const out = [...base];
  for (const e of overrides) {
    const eq = e.indexOf('=');
    let entry = e;
    if (eq < 0) {
      const v = hostEnv[e];
      if (v === undefined) continue;
      entry = `${e}=${v}`;
    }
    const key = entry.slice(0, entry.indexOf('='));
    if (key === '') throw containerError('TB_CONTAINER_OPTION_INVALID', `invalid environment variable "${e}"`, { hint: 'use -e KEY=value' });
    const i = out.findIndex((x) => x === key || x.startsWith(`${key}=`));
    if (i >= 0) out[i] = entry;
    else out.push(entry);
  }
  return out;
}
