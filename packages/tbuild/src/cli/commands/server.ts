import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BuildError } from '@tbuild/errors';
import { bundleIdentity, serverSocketPath } from '../../../bin/server-protocol.js';
import { alive } from '../../api/cache/reap.ts';
import { parseDuration } from '../../api/cache/units.ts';
import { openStore } from '../../api/store.ts';
import { control, serve, type ServerStatus } from '../../server/serve.ts';
import { str, usageError, type FlagValues } from '../args.ts';
import type { CliContext, Command } from '../command.ts';
import { write } from '../command.ts';
import { storeRoot } from '../root.ts';

const DEFAULT_IDLE = '30m';

/** The tbuild binary this process runs from: a server runs that bundle, and answers only its clients. */
function self(): { bin: string; identity: string; stale(): boolean } {
  const bin = process.argv[1];
  const bundle = bin && path.join(path.dirname(bin), '../dist/tbuild.cjs');
  if (!bundle || !fs.existsSync(bundle)) {
    throw new BuildError({ code: 'TB_SERVER_UNAVAILABLE', message: 'a build server runs from the built tbuild binary only', hint: 'run `pnpm build`, then bin/tbuild.js server start' });
  }
  const identity = bundleIdentity(bundle);
  const stale = (): boolean => {
    try {
      return bundleIdentity(bundle) !== identity;
    } catch {
      return true;
    }
  };
  return { bin, identity, stale };
}

const describe = (s: ServerStatus): string =>
  `tbuild server running: pid ${s.pid}, since ${s.startedAt}, ${s.served} builds served, ${s.active} running, ${s.rssMb} MB resident\nsocket: ${s.socket}`;

function idleMs(flags: FlagValues): number {
  const text = str(flags['idle-timeout']) ?? DEFAULT_IDLE;
  return text === '0' ? 0 : parseDuration(text, '--idle-timeout');
}

async function start(ctx: CliContext, root: string, flags: FlagValues): Promise<number> {
  const idle = str(flags['idle-timeout']) ?? DEFAULT_IDLE;
  idleMs(flags); // a bad --idle-timeout fails here, not in the background server
  const me = self();
  const running = await control(root, 'status');
  if (running) {
    write(ctx.stdout, describe(running));
    return 0;
  }
  await openStore(root);
  const logFile = path.join(path.dirname(serverSocketPath(root)), 'server.log');
  const log = fs.openSync(logFile, 'a', 0o600);
  const child = spawn(process.execPath, [...process.execArgv, me.bin, 'server', 'run', '--root', root, '--idle-timeout', idle], {
    detached: true,
    stdio: ['ignore', log, log],
    env: ctx.env,
    cwd: '/',
  });
  fs.closeSync(log);
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  child.unref();
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
    const s = await control(root, 'status');
    // Ours, or one another `server start` got up first (ours then exits: TB_SERVER_RUNNING).
    if (s && (s.pid === child.pid || exited !== undefined)) {
      write(ctx.stdout, describe(s));
      return 0;
    }
    if (exited !== undefined) break;
    await new Promise((r) => setTimeout(r, 40));
  }
  const tail = fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n');
  throw new BuildError({ code: 'TB_SERVER_START', message: `the tbuild server did not start${tail ? `:\n${tail}` : ''}`, hint: `its log is ${logFile}` });
}

async function stop(ctx: CliContext, root: string): Promise<number> {
  const s = await control(root, 'stop');
  if (!s) {
    write(ctx.stdout, `no tbuild server runs for ${root}`);
    return 0;
  }
  // It finishes the builds it is running first.
  if (s.active > 0) write(ctx.stdout, `waiting for ${s.active} running build(s) to finish`);
  while (alive(s.pid)) await new Promise((r) => setTimeout(r, 40));
  write(ctx.stdout, `tbuild server stopped (pid ${s.pid}, ${s.served} builds served)`);
  return 0;
}

async function runForeground(ctx: CliContext, root: string, flags: FlagValues): Promise<number> {
  const me = self();
  await openStore(root);
  // Loaded here, not imported: main.ts imports every command, this one included.
  const { main } = await import('../main.ts');
  await serve({
    root,
    identity: me.identity,
    stale: me.stale,
    idleMs: idleMs(flags),
    run: (argv, c) => main(argv, c),
    log: (line) => write(ctx.stderr, `${new Date().toISOString()} ${line}`),
  });
  return 0;
}

export const serverCommand: Command = {
  spec: {
    name: 'server',
    summary: 'Keep a build server running for faster builds (start, stop, status)',
    usage: 'tbuild server start|stop|status|run [OPTIONS]',
    args: { min: 1, max: 1 },
    flags: [{ name: 'idle-timeout', type: 'string', placeholder: 'DURATION', help: `start/run: exit after this long without builds (default ${DEFAULT_IDLE}; 0: never)` }],
    examples: ['tbuild server start', 'tbuild server status', 'tbuild server stop', 'tbuild server run --idle-timeout 0   # in the foreground, e.g. under systemd'],
  },
  async run(ctx, { flags, positionals }) {
    const root = storeRoot(ctx, flags);
    switch (positionals[0]) {
      case 'start':
        return start(ctx, root, flags);
      case 'stop':
        return stop(ctx, root);
      case 'status': {
        const s = await control(root, 'status');
        write(s ? ctx.stdout : ctx.stderr, s ? describe(s) : `no tbuild server runs for ${root}`);
        return s ? 0 : 1;
      }
      case 'run':
        return runForeground(ctx, root, flags);
      default:
        throw usageError(`unknown server subcommand "${positionals[0]}"`, 'use start, stop, status or run');
    }
  },
};
