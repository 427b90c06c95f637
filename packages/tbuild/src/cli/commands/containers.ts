import fs from 'node:fs';
import path from 'node:path';
import {
  attach,
  commitContainer,
  ContainerStore,
  containersUsingImage,
  createContainer,
  execInContainer,
  followLog,
  inspectContainer,
  killContainer,
  listContainers,
  normalizeSignal,
  parseBytes,
  parseCpus,
  parseEnvFile,
  parseMountFlag,
  parseTmpfsFlag,
  parseVolumeFlag,
  pruneContainers,
  readLogSnapshot,
  reconcileState,
  removeContainer,
  restartContainer,
  startContainer,
  stopContainer,
  superviseContainer,
  tailRecords,
  waitContainer,
  type ContainerState,
  type LogRecord,
  type MountRequest,
  type SupervisorLauncher,
} from '@tbuild/containers';
import { BuildError, renderError } from '@tbuild/errors';
import { findImage } from '@tbuild/registry';
import { openStore } from '../../api/store.ts';
import { list, str, usageError, type CommandSpec, type FlagSpec, type FlagValues } from '../args.ts';
import type { CliContext, Command } from '../command.ts';
import { write } from '../command.ts';
import { storeRoot } from '../root.ts';
import { ago, table } from '../table.ts';

/** `run` and `exec` stop parsing flags at their first positional (see CommandSpec.interspersed). */
type Spec = CommandSpec;

async function containers(ctx: CliContext, flags: FlagValues): Promise<ContainerStore> {
  return ContainerStore.open(await openStore(storeRoot(ctx, flags)));
}

/**
 * Detached containers are watched by a supervisor process that outlives this CLI: this same
 * binary, re-run with the hidden `__supervise` command (see superviseContainer for why).
 */
function launcher(): SupervisorLauncher {
  const self = process.argv[1];
  if (!self) throw new Error('cannot locate the tbuild entry script to start a container supervisor');
  return (t) => ({ command: process.execPath, args: [...process.execArgv, self, '__supervise', '--root', t.storeRoot, t.id, t.startId] });
}

function unsupported(message: string, hint: string): BuildError {
  return new BuildError({ code: 'TB_CONTAINER_UNSUPPORTED', message, hint });
}

function intFlag(v: FlagValues[string], name: string): number | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  if (!/^-?\d+$/.test(s)) throw usageError(`invalid value "${s}" for --${name}: expected an integer`);
  return Number(s);
}

/** A container that could not start: docker prints the reason and exits 125/126/127. */
function startFailure(ctx: CliContext, s: ContainerState): number {
  write(ctx.stderr, renderError(new BuildError({ code: 'TB_CONTAINER_START_FAILED', message: s.error, hint: 'check that the command exists in the image and is executable' })));
  return s.exitCode || 125;
}

const RUN_FLAGS: CommandSpec['flags'] = [
  { name: 'detach', short: 'd', type: 'bool', help: 'run in the background and print the container ID' },
  { name: 'rm', type: 'bool', help: 'remove the container (and its anonymous volumes) when it exits' },
  { name: 'name', type: 'string', placeholder: 'NAME', help: 'container name' },
  { name: 'env', short: 'e', type: 'list', placeholder: 'KEY=VALUE', help: 'set an environment variable (KEY alone copies it from here)' },
  { name: 'env-file', type: 'list', placeholder: 'FILE', help: 'read environment variables from a file' },
  { name: 'workdir', short: 'w', type: 'string', placeholder: 'DIR', help: 'working directory inside the container' },
  { name: 'user', short: 'u', type: 'string', placeholder: 'USER[:GROUP]', help: 'user to run as' },
  { name: 'entrypoint', type: 'string', placeholder: 'CMD', help: "override the image's ENTRYPOINT (\"\" clears it)" },
  { name: 'volume', short: 'v', type: 'list', placeholder: 'SRC:DST[:ro]', help: 'bind mount a host path or mount a named volume' },
  { name: 'mount', type: 'list', placeholder: 'type=…,source=…,target=…', help: 'attach a bind, volume or tmpfs mount' },
  { name: 'tmpfs', type: 'list', placeholder: 'DST[:size=…]', help: 'mount a tmpfs' },
  { name: 'network', type: 'string', choices: ['none', 'host'], help: "network mode (default none: loopback only)" },
  { name: 'memory', short: 'm', type: 'string', placeholder: 'SIZE', help: 'memory limit (e.g. 512m); the kernel OOM-kills above it' },
  { name: 'cpus', type: 'string', placeholder: 'N', help: 'CPU quota in CPUs (e.g. 1.5)' },
  { name: 'pids-limit', type: 'string', placeholder: 'N', help: 'maximum number of processes' },
  { name: 'read-only', type: 'bool', help: "mount the container's root filesystem read-only" },
  { name: 'stop-signal', type: 'string', placeholder: 'SIGNAL', help: "signal `stop` sends (default: the image's STOPSIGNAL, else SIGTERM)" },
  { name: 'stop-timeout', type: 'string', placeholder: 'SECONDS', help: 'seconds `stop` waits before SIGKILL (default 10)' },
  { name: 'hostname', type: 'string', placeholder: 'NAME', help: 'container host name (default: the short ID)' },
  { name: 'publish', short: 'p', type: 'list', placeholder: 'HOST:CTR', help: 'not supported yet (no network mode publishes ports)' },
  { name: 'interactive', short: 'i', type: 'bool', help: 'not supported for run yet (use exec -i)' },
  { name: 'tty', short: 't', type: 'bool', help: 'not supported yet' },
];

const RUN_SPEC: Spec = {
  name: 'run',
  summary: 'Run a command in a new container from an image',
  usage: 'tbuild run [OPTIONS] IMAGE [COMMAND] [ARG...]',
  args: { min: 1 },
  interspersed: false,
  flags: RUN_FLAGS,
  examples: ['tbuild run --rm my-app:latest', 'tbuild run -d --name web -m 256m my-app', 'tbuild run --rm -v data:/data busybox sh -c "ls /data"'],
};

export const runCommand: Command = {
  spec: RUN_SPEC,
  async run(ctx, { flags, positionals }) {
    if (list(flags.publish).length > 0) {
      throw unsupported('publishing ports (-p) is not supported yet: tbuild containers have no bridge network to publish from', 'use --network host; the container then listens on the host\'s ports directly');
    }
    if (flags.tty) throw unsupported('a pseudo-terminal (-t) is not supported yet', 'drop -t; output is still streamed, and exit codes are kept');
    if (flags.interactive) throw unsupported('attaching stdin (-i) to `run` is not supported yet', 'run the container with -d, then `tbuild exec -i CONTAINER ...`');
    const cs = await containers(ctx, flags);
    const env: string[] = [];
    for (const f of list(flags['env-file'])) {
      const file = path.resolve(ctx.cwd, f);
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (e) {
        throw usageError(`cannot read --env-file ${f}: ${(e as Error).message}`);
      }
      env.push(...parseEnvFile(text, f));
    }
    env.push(...list(flags.env));
    const mounts: MountRequest[] = [
      ...list(flags.volume).map((v) => parseVolumeFlag(v, ctx.cwd)),
      ...list(flags.mount).map((m) => parseMountFlag(m, ctx.cwd)),
      ...list(flags.tmpfs).map((t) => parseTmpfsFlag(t)),
    ];
    const [image, ...command] = positionals as [string, ...string[]];
    const memory = str(flags.memory);
    const cpus = str(flags.cpus);
    const stopSignal = str(flags['stop-signal']);
    const rec = await createContainer(cs, {
      image,
      command,
      env,
      hostEnv: ctx.env,
      mounts,
      ...(str(flags.name) !== undefined ? { name: str(flags.name) } : {}),
      ...(str(flags.workdir) !== undefined ? { workdir: str(flags.workdir) } : {}),
      ...(str(flags.user) !== undefined ? { user: str(flags.user) } : {}),
      ...(str(flags.entrypoint) !== undefined ? { entrypoint: str(flags.entrypoint) } : {}),
      ...(str(flags.hostname) !== undefined ? { hostname: str(flags.hostname) } : {}),
      ...(stopSignal !== undefined ? { stopSignal: normalizeSignal(stopSignal) } : {}),
      network: (str(flags.network) as 'none' | 'host' | undefined) ?? 'none',
      ...(memory !== undefined ? { memoryBytes: parseBytes(memory) } : {}),
      ...(cpus !== undefined ? { nanoCpus: parseCpus(cpus) } : {}),
      ...(intFlag(flags['pids-limit'], 'pids-limit') !== undefined ? { pidsLimit: intFlag(flags['pids-limit'], 'pids-limit') } : {}),
      ...(intFlag(flags['stop-timeout'], 'stop-timeout') !== undefined ? { stopTimeout: intFlag(flags['stop-timeout'], 'stop-timeout') } : {}),
      readOnly: flags['read-only'] === true,
      autoRemove: flags.rm === true,
    });
    if (flags.detach) {
      const s = await startContainer(cs, rec.id, launcher());
      if (s.error) return startFailure(ctx, s);
      write(ctx.stdout, rec.id);
      return 0;
    }
    // Attached: the container still runs under its own supervisor; this process only streams
    // its log and waits, so killing the CLI does not kill the container (as with docker).
    const detachMarker = attach(cs.paths(rec.id).attach);
    try {
      const s = await startContainer(cs, rec.id, launcher());
      if (s.error) return startFailure(ctx, s);
      let stopping: Promise<unknown> | undefined;
      const onAbort = (): void => void (stopping ??= stopContainer(cs, rec.id).catch(() => undefined));
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      let end: ContainerState | undefined;
      const ended = waitContainer(cs, rec.id).then((st) => (end = st));
      try {
        await followLog(cs.paths(rec.id).log, 0, { onRecord: (r) => printRecord(ctx, r, false), done: () => end !== undefined });
        await ended;
        await stopping;
      } finally {
        ctx.signal.removeEventListener('abort', onAbort);
      }
      return end!.error ? startFailure(ctx, end!) : end!.exitCode;
    } finally {
      detachMarker();
    }
  },
};

function printRecord(ctx: CliContext, r: LogRecord, timestamps: boolean): void {
  const text = timestamps ? `${r.time} ${r.log}` : r.log;
  (r.stream === 'stderr' ? ctx.stderr : ctx.stdout).write(text);
}

const SUPERVISE_SPEC: Spec = {
  name: '__supervise',
  summary: 'internal: supervise one start of a container (started by run/start/restart)',
  usage: 'tbuild __supervise --root DIR ID START_ID',
  args: { min: 2, max: 2 },
  hidden: true,
  flags: [],
  examples: [],
};

export const superviseCommand: Command = {
  spec: SUPERVISE_SPEC,
  async run(ctx, { flags, positionals }) {
    await superviseContainer({ storeRoot: storeRoot(ctx, flags), id: positionals[0]!, startId: positionals[1]! });
    return 0;
  },
};

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

const EXEC_SPEC: Spec = {
  name: 'exec',
  summary: 'Run a command in a running container',
  usage: 'tbuild exec [-i] [-e K=V] [-u USER] [-w DIR] CONTAINER COMMAND [ARG...]',
  args: { min: 2 },
  interspersed: false,
  flags: [
    { name: 'interactive', short: 'i', type: 'bool', help: 'pass stdin to the command' },
    { name: 'tty', short: 't', type: 'bool', help: 'not supported yet' },
    { name: 'env', short: 'e', type: 'list', placeholder: 'KEY=VALUE', help: 'set an environment variable' },
    { name: 'user', short: 'u', type: 'string', placeholder: 'USER[:GROUP]', help: 'user to run as (default: the container\'s)' },
    { name: 'workdir', short: 'w', type: 'string', placeholder: 'DIR', help: "working directory (default: the container's)" },
  ],
  examples: ['tbuild exec web cat /etc/os-release', 'echo hi | tbuild exec -i web cat'],
};

export const execCommand: Command = {
  spec: EXEC_SPEC,
  async run(ctx, { flags, positionals }) {
    if (flags.tty) throw unsupported('a pseudo-terminal (-t) is not supported yet', 'drop -t; use -i to pass stdin');
    const cs = await containers(ctx, flags);
    const [name, ...args] = positionals as [string, ...string[]];
    return execInContainer(cs, name, {
      args,
      env: list(flags.env),
      hostEnv: ctx.env,
      ...(str(flags.user) !== undefined ? { user: str(flags.user) } : {}),
      ...(str(flags.workdir) !== undefined ? { workdir: str(flags.workdir) } : {}),
      ...(flags.interactive ? { stdin: ctx.stdin } : {}),
      stdout: ctx.stdout,
      stderr: ctx.stderr,
      signal: ctx.signal,
    });
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

const CONTAINER_SUBCOMMANDS = ['ls', 'ps', 'inspect', 'prune', 'rm', 'start', 'stop', 'restart', 'kill', 'logs', 'commit', 'wait'];

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
        const direct: Record<string, Command> = { rm: rmCommand, start: startCommand, stop: stopCommand, restart: restartCommand, kill: killCommand, logs: logsCommand, commit: commitCommand, wait: waitCommand };
        const cmd = direct[sub];
        if (!cmd) throw usageError(`unknown container command "${sub}"`, `one of: ${CONTAINER_SUBCOMMANDS.join(', ')}`);
        return cmd.run(ctx, { flags, positionals: rest });
      }
    }
  },
};
