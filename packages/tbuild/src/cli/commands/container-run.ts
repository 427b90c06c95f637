import fs from 'node:fs';
import path from 'node:path';
import {
  attach,
  STDIN_TAG,
  createContainer,
  execInContainer,
  followLog,
  normalizeSignal,
  parseBytes,
  parseCpus,
  parseEnvFile,
  parseMountFlag,
  parsePublish,
  parseTmpfsFlag,
  parseVolumeFlag,
  startContainer,
  stopContainer,
  superviseContainer,
  waitContainer,
  type ContainerState,
  type MountRequest,
} from '@tbuild/containers';
import { list, str, usageError, type CommandSpec } from '../args.ts';
import type { Command } from '../command.ts';
import { write } from '../command.ts';
import { storeRoot } from '../root.ts';
import { attachStdio, containers, launcher, intFlag, startFailure, printRecord, rawStdin, terminalSize, watchResize } from './container-common.ts';

const RUN_FLAGS: CommandSpec['flags'] = [
  { name: 'detach', short: 'd', type: 'bool', help: 'run in the background and print the container ID' },
  { name: 'rm', type: 'bool', help: 'remove the container (and its anonymous volumes) when it exits; the command returns once it is removed' },
  { name: 'name', type: 'string', placeholder: 'NAME', help: 'container name' },
  { name: 'env', short: 'e', type: 'list', placeholder: 'KEY=VALUE', help: 'set an environment variable (KEY alone copies it from here)' },
  { name: 'env-file', type: 'list', placeholder: 'FILE', help: 'read environment variables from a file' },
  { name: 'workdir', short: 'w', type: 'string', placeholder: 'DIR', help: 'working directory inside the container' },
  { name: 'user', short: 'u', type: 'string', placeholder: 'USER[:GROUP]', help: 'user to run as' },
  { name: 'entrypoint', type: 'string', placeholder: 'CMD', help: "override the image's ENTRYPOINT (\"\" clears it)" },
  { name: 'volume', short: 'v', type: 'list', placeholder: 'SRC:DST[:ro]', help: 'bind mount a host path or mount a named volume' },
  { name: 'mount', type: 'list', placeholder: 'type=…,source=…,target=…', help: 'attach a bind, volume or tmpfs mount' },
  { name: 'tmpfs', type: 'list', placeholder: 'DST[:size=…]', help: 'mount a tmpfs' },
  { name: 'network', type: 'string', choices: ['bridge', 'none', 'host'], help: 'network mode: bridge (default; NAT out through tbuild0), none (loopback only), host' },
  { name: 'memory', short: 'm', type: 'string', placeholder: 'SIZE', help: 'memory limit (e.g. 512m); the kernel OOM-kills above it' },
  { name: 'cpus', type: 'string', placeholder: 'N', help: 'CPU quota in CPUs (e.g. 1.5)' },
  { name: 'pids-limit', type: 'string', placeholder: 'N', help: 'maximum number of processes' },
  { name: 'read-only', type: 'bool', help: "mount the container's root filesystem read-only" },
  { name: 'stop-signal', type: 'string', placeholder: 'SIGNAL', help: "signal `stop` sends (default: the image's STOPSIGNAL, else SIGTERM)" },
  { name: 'stop-timeout', type: 'string', placeholder: 'SECONDS', help: 'seconds `stop` waits before SIGKILL (default 10)' },
  { name: 'hostname', type: 'string', placeholder: 'NAME', help: 'container host name (default: the short ID)' },
  { name: 'publish-all', short: 'P', type: 'bool', help: "publish every TCP port the image EXPOSEs on a free host port" },
  { name: 'publish', short: 'p', type: 'list', placeholder: '[IP:][HOST:]CTR', help: 'forward a host TCP port to a container port (HOST omitted or 0: any free port; see `inspect`)' },
  { name: 'interactive', short: 'i', type: 'bool', help: 'keep stdin open and pass ours to the process; its end, or this CLI dying, is the process\'s EOF (with -d: open, nothing attached)' },
  { name: 'tty', short: 't', type: 'bool', help: 'give the process a pseudo-terminal (stdout and stderr merged)' },
];

const RUN_SPEC: CommandSpec = {
  name: 'run',
  summary: 'Run a command in a new container from an image',
  usage: 'tbuild run [OPTIONS] IMAGE [COMMAND] [ARG...]',
  args: { min: 1 },
  interspersed: false,
  flags: RUN_FLAGS,
  examples: [
    'tbuild run --rm my-app:latest',
    'tbuild run -it --rm busybox sh',
    'echo hi | tbuild run -i --rm busybox cat',
    'tbuild run -d --name web -m 256m my-app',
    'tbuild run --rm -v data:/data busybox sh -c "ls /data"',
  ],
};

export const runCommand: Command = {
  spec: RUN_SPEC,
  async run(ctx, { flags, positionals }) {
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
    const tty = flags.tty === true;
    const interactive = flags.interactive === true;
    const size = tty ? terminalSize(ctx) : undefined;
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
      network: (str(flags.network) as 'bridge' | 'none' | 'host' | undefined) ?? 'bridge',
      publish: list(flags.publish).map(parsePublish),
      publishAll: flags['publish-all'] === true,
      ...(memory !== undefined ? { memoryBytes: parseBytes(memory) } : {}),
      ...(cpus !== undefined ? { nanoCpus: parseCpus(cpus) } : {}),
      ...(intFlag(flags['pids-limit'], 'pids-limit') !== undefined ? { pidsLimit: intFlag(flags['pids-limit'], 'pids-limit') } : {}),
      ...(intFlag(flags['stop-timeout'], 'stop-timeout') !== undefined ? { stopTimeout: intFlag(flags['stop-timeout'], 'stop-timeout') } : {}),
      readOnly: flags['read-only'] === true,
      autoRemove: flags.rm === true,
      tty,
      openStdin: interactive,
      ...(size ? { consoleSize: [size.rows, size.cols] as [number, number] } : {}),
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
    const stdinMarker = interactive ? attach(cs.paths(rec.id).attach, STDIN_TAG) : undefined;
    try {
      const s = await startContainer(cs, rec.id, launcher());
      if (s.error) return startFailure(ctx, s);
      let stopping: Promise<unknown> | undefined;
      const onAbort = (): void => void (stopping ??= stopContainer(cs, rec.id).catch(() => undefined));
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      let end: ContainerState | undefined;
      const ended = waitContainer(cs, rec.id).then((st) => (end = st));
      const deadline = Date.now() + 10_000;
      let detachStdio: (() => void) | undefined;
      try {
        detachStdio = await attachStdio(ctx, cs.paths(rec.id).dir, { stdin: interactive, tty, waiting: () => end === undefined && Date.now() < deadline });
        // Polled more often when someone may be typing: the echo comes back through the log.
        const pollMs = interactive || tty ? 20 : undefined;
        await followLog(cs.paths(rec.id).log, 0, { onRecord: (r) => printRecord(ctx, r, false), done: () => end !== undefined, ...(pollMs ? { pollMs } : {}) });
        await ended;
        // Detach before waiting for `stop`: it waits for the supervisor, which with --rm waits for us.
        stdinMarker?.();
        detachMarker();
        await stopping;
        // As `docker run --rm`: the container is gone when the command returns, so the next
        // command (`ps -a`, removing the image or the store) does not race its removal.
        if (flags.rm === true) await gone(cs.paths(rec.id).dir, 10_000);
      } finally {
        detachStdio?.();
        ctx.signal.removeEventListener('abort', onAbort);
      }
      return end!.error ? startFailure(ctx, end!) : end!.exitCode;
    } finally {
      stdinMarker?.();
      detachMarker();
    }
  },
};


const SUPERVISE_SPEC: CommandSpec = {
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

const EXEC_SPEC: CommandSpec = {
  name: 'exec',
  summary: 'Run a command in a running container',
  usage: 'tbuild exec [-i] [-t] [-e K=V] [-u USER] [-w DIR] CONTAINER COMMAND [ARG...]',
  args: { min: 2 },
  interspersed: false,
  flags: [
    { name: 'interactive', short: 'i', type: 'bool', help: 'pass stdin to the command' },
    { name: 'tty', short: 't', type: 'bool', help: 'give the command a pseudo-terminal (stdout and stderr merged)' },
    { name: 'env', short: 'e', type: 'list', placeholder: 'KEY=VALUE', help: 'set an environment variable' },
    { name: 'user', short: 'u', type: 'string', placeholder: 'USER[:GROUP]', help: 'user to run as (default: the container\'s)' },
    { name: 'workdir', short: 'w', type: 'string', placeholder: 'DIR', help: "working directory (default: the container's)" },
  ],
  examples: ['tbuild exec web cat /etc/os-release', 'echo hi | tbuild exec -i web cat', 'tbuild exec -it web sh'],
};

export const execCommand: Command = {
  spec: EXEC_SPEC,
  async run(ctx, { flags, positionals }) {
    const cs = await containers(ctx, flags);
    const [name, ...args] = positionals as [string, ...string[]];
    const tty = flags.tty === true;
    let unwatch = (): void => undefined;
    const restore = tty && flags.interactive ? rawStdin(ctx) : () => undefined;
    try {
      return await execInContainer(cs, name, {
        args,
        env: list(flags.env),
        hostEnv: ctx.env,
        ...(str(flags.user) !== undefined ? { user: str(flags.user) } : {}),
        ...(str(flags.workdir) !== undefined ? { workdir: str(flags.workdir) } : {}),
        ...(flags.interactive ? { stdin: ctx.stdin } : {}),
        ...(tty ? { tty: terminalSize(ctx) ?? { rows: 24, cols: 80 }, onResizer: (fn) => (unwatch = watchResize(ctx, fn)) } : {}),
        stdout: ctx.stdout,
        stderr: ctx.stderr,
        signal: ctx.signal,
      });
    } finally {
      unwatch();
      restore();
    }
  },
};

/** Resolves once `dir` no longer exists, or after `timeoutMs` (the supervisor removes it). */
async function gone(dir: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (fs.existsSync(dir) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
}
