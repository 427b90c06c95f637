import {
  commitContainer,
  ContainerStore,
  containersUsingImage,
  followLog,
  hostAddress,
  inspectContainer,
  killContainer,
  listContainers,
  pruneContainers,
  readLogSnapshot,
  reconcileState,
  removeContainer,
  restartContainer,
  startContainer,
  stopContainer,
  tailRecords,
  waitContainer,
  type PortBinding,
} from '@tbuild/containers';
import { BuildError, renderError } from '@tbuild/errors';
import { findImage } from '@tbuild/registry';
import { openStore } from '../../api/store.ts';
import { list, str, usageError, type CommandSpec, type FlagSpec, type FlagValues } from '../args.ts';
import type { CliContext, Command } from '../command.ts';
import { write } from '../command.ts';
import { storeRoot } from '../root.ts';
import { ago, table } from '../table.ts';
import { containers, launcher, intFlag, printRecord } from './container-common.ts';

const FORMAT: FlagSpec = { name: 'format', type: 'string', choices: ['table', 'json'], help: 'output format' };

async function psRun(ctx: CliContext, flags: FlagValues): Promise<number> {
  const cs = await containers(ctx, flags);
  const rows = await listContainers(cs, { all: flags.all === true });
  if (flags.quiet) {
    for (const r of rows) write(ctx.stdout, r.ID);
  } else if (flags.format === 'json') {
    for (const r of rows) write(ctx.stdout, JSON.stringify(r));
  } else {
    const t = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES']];
    for (const r of rows) {
      const cmd = r.Command.length > 22 ? `${r.Command.slice(0, 20)}…"` : r.Command;
      t.push([r.ID, r.Image, cmd, ago(r.CreatedAt), r.Status, r.Ports, r.Names]);
    }
    write(ctx.stdout, table(t));
  }
  return 0;
}

const PS_FLAGS: CommandSpec['flags'] = [
  { name: 'all', short: 'a', type: 'bool', help: 'show all containers (default: running only)' },
  { name: 'quiet', short: 'q', type: 'bool', help: 'only print container IDs' },
  FORMAT,
];

export const psCommand: Command = {
  spec: { name: 'ps', summary: 'List containers', usage: 'tbuild ps [-a] [--format table|json]', flags: PS_FLAGS, examples: ['tbuild ps', 'tbuild ps -a --format json'] },
  run: (ctx, { flags }) => psRun(ctx, flags),
};

/** Runs `op` on each named container like docker: prints each name on success, reports each failure, exit 1 if any failed. */
async function each(ctx: CliContext, names: string[], op: (name: string) => Promise<void>): Promise<number> {
  let failed = false;
  for (const n of names) {
    try {
      await op(n);
      write(ctx.stdout, n);
    } catch (e) {
      if (!(e instanceof BuildError)) throw e;
      write(ctx.stderr, renderError(e));
      failed = true;
    }
  }
  return failed ? 1 : 0;
}

const TIME_FLAG: FlagSpec = { name: 'time', short: 't', type: 'string', placeholder: 'SECONDS', help: 'seconds to wait before killing (default: the container\'s stop timeout, 10)' };

export const startCommand: Command = {
  spec: { name: 'start', summary: 'Start stopped containers (in the background)', usage: 'tbuild start CONTAINER...', args: { min: 1 }, flags: [], examples: ['tbuild start web'] },
  async run(ctx, { flags, positionals }) {
    const cs = await containers(ctx, flags);
    return each(ctx, positionals, async (n) => {
      const s = await startContainer(cs, n, launcher());
      if (s.error) throw new BuildError({ code: 'TB_CONTAINER_START_FAILED', message: s.error });
    });
  },
};

export const stopCommand: Command = {
  spec: {
    name: 'stop',
    summary: "Stop running containers (STOPSIGNAL, then SIGKILL after the timeout)",
    usage: 'tbuild stop [-t SECONDS] CONTAINER...',
    args: { min: 1 },
    flags: [TIME_FLAG, { name: 'signal', short: 's', type: 'string', placeholder: 'SIGNAL', help: "signal to send (default: the image's STOPSIGNAL, else SIGTERM)" }],
    examples: ['tbuild stop web', 'tbuild stop -t 30 web'],
  },
  async run(ctx, { flags, positionals }) {
    const cs = await containers(ctx, flags);
    const timeoutSec = intFlag(flags.time, 'time');
    const signal = str(flags.signal);
    return each(ctx, positionals, async (n) => void (await stopContainer(cs, n, { ...(timeoutSec !== undefined ? { timeoutSec } : {}), ...(signal ? { signal } : {}) })));
  },
};

export const restartCommand: Command = {
  spec: { name: 'restart', summary: 'Restart containers', usage: 'tbuild restart [-t SECONDS] CONTAINER...', args: { min: 1 }, flags: [TIME_FLAG], examples: ['tbuild restart web'] },
  async run(ctx, { flags, positionals }) {
    const cs = await containers(ctx, flags);
    const timeoutSec = intFlag(flags.time, 'time');
    return each(ctx, positionals, async (n) => {
      const s = await restartContainer(cs, n, launcher(), timeoutSec !== undefined ? { timeoutSec } : {});
      if (s.error) throw new BuildError({ code: 'TB_CONTAINER_START_FAILED', message: s.error });
    });
  },
};

export const killCommand: Command = {
  spec: {
    name: 'kill',
    summary: 'Send a signal to running containers',
    usage: 'tbuild kill [-s SIGNAL] CONTAINER...',
    args: { min: 1 },
    flags: [{ name: 'signal', short: 's', type: 'string', placeholder: 'SIGNAL', help: 'signal to send (default SIGKILL)' }],
    examples: ['tbuild kill web', 'tbuild kill -s HUP web'],
  },
  async run(ctx, { flags, positionals }) {
    const cs = await containers(ctx, flags);
    return each(ctx, positionals, (n) => killContainer(cs, n, str(flags.signal) ?? 'SIGKILL'));
  },
};

export const rmCommand: Command = {
  spec: {
    name: 'rm',
    summary: 'Remove containers',
    usage: 'tbuild rm [-f] [-v] CONTAINER...',
    args: { min: 1 },
    flags: [
      { name: 'force', short: 'f', type: 'bool', help: 'kill a running container first' },
      { name: 'volumes', short: 'v', type: 'bool', help: 'also remove its anonymous volumes' },
    ],
    examples: ['tbuild rm web', 'tbuild rm -f -v web'],
  },
  async run(ctx, { flags, positionals }) {
    const cs = await containers(ctx, flags);
    return each(ctx, positionals, async (n) => void (await removeContainer(cs, n, { force: flags.force === true, volumes: flags.volumes === true })));
  },
};

export const logsCommand: Command = {
  spec: {
    name: 'logs',
    summary: "Show a container's output",
    usage: 'tbuild logs [-f] [--tail N] [-t] CONTAINER',
    args: { min: 1, max: 1 },
    flags: [
      { name: 'follow', short: 'f', type: 'bool', help: 'keep printing output until the container stops' },
      { name: 'tail', type: 'string', placeholder: 'N', help: 'only the last N lines ("all" by default)' },
      { name: 'timestamps', short: 't', type: 'bool', help: 'prefix each line with its time' },
    ],
    examples: ['tbuild logs web', 'tbuild logs -f --tail 10 web'],
  },
  async run(ctx, { flags, positionals }) {
    const cs = await containers(ctx, flags);
    const rec = cs.resolve(positionals[0]!);
    const tailFlag = str(flags.tail);
    const n = tailFlag === undefined || tailFlag === 'all' ? -1 : intFlag(tailFlag, 'tail')!;
    const ts = flags.timestamps === true;
    const file = cs.paths(rec.id).log;
    const snap = readLogSnapshot(file);
    for (const r of tailRecords(snap.records, n)) printRecord(ctx, r, ts);
    if (!flags.follow) return 0;
    let finished = false;
    const done = (): boolean => finished;
    const poll = setInterval(() => {
      void reconcileState(cs, rec).then(
        (s) => (finished = s.status !== 'running' && !(s.status === 'created' && s.supervisor)),
        () => (finished = true),
      );
    }, 200);
    try {
      await followLog(file, snap.offset, { onRecord: (r) => printRecord(ctx, r, ts), done, signal: ctx.signal });
    } finally {
      clearInterval(poll);
    }
    return 0;
  },
};


export const commitCommand: Command = {
  spec: {
    name: 'commit',
    summary: "Create a new image from a container's changes",
    usage: 'tbuild commit [-c INSTRUCTION] [-m MESSAGE] [-a AUTHOR] CONTAINER [IMAGE[:TAG]]',
    args: { min: 1, max: 2 },
    flags: [
      { name: 'change', short: 'c', type: 'list', placeholder: 'INSTRUCTION', help: 'apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL, ONBUILD)' },
      { name: 'message', short: 'm', type: 'string', placeholder: 'TEXT', help: 'commit message (history comment)' },
      { name: 'author', short: 'a', type: 'string', placeholder: 'NAME', help: 'author' },
      { name: 'pause', short: 'p', type: 'string', choices: ['true', 'false'], help: 'freeze a running container while committing (default true)' },
    ],
    examples: ['tbuild commit web my-app:patched', 'tbuild commit -c \'CMD ["serve"]\' -m "hotfix" web my-app:2'],
  },
  async run(ctx, { flags, positionals }) {
    const cs = await containers(ctx, flags);
    const res = await commitContainer(cs, positionals[0]!, {
      ...(positionals[1] !== undefined ? { ref: positionals[1] } : {}),
      changes: list(flags.change),
      ...(str(flags.message) !== undefined ? { message: str(flags.message) } : {}),
      ...(str(flags.author) !== undefined ? { author: str(flags.author) } : {}),
      pause: flags.pause !== 'false',
    });
    write(ctx.stdout, res.id);
    return 0;
  },
};

export const waitCommand: Command = {
  spec: { name: 'wait', summary: 'Wait for containers to stop, then print their exit codes', usage: 'tbuild wait CONTAINER...', args: { min: 1 }, flags: [], examples: ['tbuild wait web'] },
  async run(ctx, { flags, positionals }) {
    const cs = await containers(ctx, flags);
    for (const n of positionals) write(ctx.stdout, String((await waitContainer(cs, n, ctx.signal)).exitCode));
    return 0;
  },
};

export const portCommand: Command = {
  spec: {
    name: 'port',
    summary: "List a container's published ports, or the host address of one",
    usage: 'tbuild port CONTAINER [PORT[/tcp]]',
    args: { min: 1, max: 2 },
    flags: [],
    examples: ['tbuild port web', 'curl "http://$(tbuild port web 80)/"'],
  },
  async run(ctx, { flags, positionals }) {
    const [name, want] = positionals as [string, string | undefined];
    const cs = await containers(ctx, flags);
    const ports = (await reconcileState(cs, cs.resolve(name))).network?.ports ?? [];
    const key = (b: PortBinding): string => `${b.containerPort}/${b.proto}`;
    if (want !== undefined) {
      const asked = want.includes('/') ? want : `${want}/tcp`;
      const bound = ports.filter((b) => key(b) === asked);
      if (!bound.length) throw new BuildError({ code: 'TB_CONTAINER_PORT', message: `no public port "${asked}" published for ${name}`, hint: `tbuild port ${name} lists what is published` });
      for (const b of bound) write(ctx.stdout, hostAddress(b));
      return 0;
    }
    for (const b of ports) write(ctx.stdout, `${key(b)} -> ${hostAddress(b)}`);
    return 0;
  },
};

/** `tbuild container inspect` output for `names`; the image `inspect` can fall back to it. */
export async function inspectContainersJson(ctx: CliContext, flags: FlagValues, names: string[]): Promise<Record<string, unknown>[]> {
  const cs = await containers(ctx, flags);
  const out: Record<string, unknown>[] = [];
  for (const n of names) out.push(await inspectContainer(cs, n));
  return out;
}

/**
 * For `rmi`: refuses (TB_CONTAINER_IMAGE_IN_USE) to remove an image a container was created
 * from, unless forced. Call it before removing each name.
 */
export async function assertImageUnused(ctx: CliContext, flags: FlagValues, refOrDigest: string): Promise<void> {
  const store = await openStore(storeRoot(ctx, flags));
  const img = await findImage(store, refOrDigest).catch(() => undefined);
  if (!img) return;
  const users = containersUsingImage(await ContainerStore.open(store), img.digest);
  if (users.length === 0) return;
  throw new BuildError({
    code: 'TB_CONTAINER_IMAGE_IN_USE',
    message: `unable to remove image "${refOrDigest}": container ${users[0]!.id.slice(0, 12)} (${users[0]!.name}) is using it${users.length > 1 ? ` (and ${users.length - 1} more)` : ''}`,
    hint: 'remove the containers first (tbuild rm), or force with rmi -f',
  });
}

const CONTAINER_SUBCOMMANDS = ['ls', 'ps', 'inspect', 'prune', 'rm', 'start', 'stop', 'restart', 'kill', 'logs', 'commit', 'wait', 'port'];

export const containerCommand: Command = {
  spec: {
    name: 'container',
    summary: 'Manage containers (ls, inspect, prune, …)',
    usage: 'tbuild container ls|inspect|prune|… [OPTIONS]',
    args: { min: 1 },
    flags: [
      ...PS_FLAGS,
      { name: 'force', short: 'f', type: 'bool', help: 'prune: do not prompt (tbuild never prompts)' },
    ],
    examples: ['tbuild container ls -a', 'tbuild container inspect web', 'tbuild container prune'],
  },
  async run(ctx, { flags, positionals }) {
    const [sub, ...rest] = positionals as [string, ...string[]];
    switch (sub) {
      case 'ls':
      case 'ps':
        return psRun(ctx, flags);
      case 'inspect': {
        if (rest.length === 0) throw usageError('"container inspect" requires at least 1 argument', 'usage: tbuild container inspect CONTAINER...');
        write(ctx.stdout, JSON.stringify(await inspectContainersJson(ctx, flags, rest), null, 4));
        return 0;
      }
      case 'prune': {
        const removed = await pruneContainers(await containers(ctx, flags));
        write(ctx.stdout, ['Deleted Containers:', ...removed, ''].join('\n'));
        return 0;
      }
      default: {
        const direct: Record<string, Command> = { rm: rmCommand, start: startCommand, stop: stopCommand, restart: restartCommand, kill: killCommand, logs: logsCommand, commit: commitCommand, wait: waitCommand, port: portCommand };
        const cmd = direct[sub];
        if (!cmd) throw usageError(`unknown container command "${sub}"`, `one of: ${CONTAINER_SUBCOMMANDS.join(', ')}`);
        return cmd.run(ctx, { flags, positionals: rest });
      }
    }
  },
};
