import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { releaseThroughHelper, spawnThroughHelper } from '../snapshot/sys-helper.ts';

/** A program with no stdin whose output tbuild reads, however it was started. */
export interface QuietProcess {
  stdout: NodeJS.ReadableStream;
  stderr: NodeJS.ReadableStream;
  /** Settles once it has exited and both outputs are read to the end, as ChildProcess's 'close'. */
  closed: Promise<{ code: number | null; sig: NodeJS.Signals | null }>;
  kill(): void;
}

/*
 * Node.js starts a program by forking itself, which copies its page tables: ~2 ms of the main
 * thread per `runc run` for a ~76 MB tbuild, ~4.5 ms for a 266 MB build server, on every RUN's
 * path. The sys helper (tbuild-sys, or a small python3) starts it with posix_spawn instead. Its
 * output pipes are made by the helper; tbuild opens their read ends through /proc, then lets the
 * helper close its own, and the helper reports the exit.
 */

/**
 * Starts `argv` through the sys helper, `env` (`NAME=value`) set over the environment; undefined
 * when the helper is not up (spawn it yourself).
 */
export async function spawnQuiet(argv: string[], env: string[] = []): Promise<QuietProcess | undefined> {
  const starting = spawnThroughHelper(argv, env);
  if (!starting) return undefined;
  const h = await starting;
  if (!h) return undefined;
  let ended = false;
  const kill = () => {
    if (ended) return;
    try {
      process.kill(h.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const fds: number[] = [];
  try {
    for (const p of [h.stdoutPath, h.stderrPath]) fds.push(fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK));
  } catch (e) {
    for (const fd of fds) fs.closeSync(fd);
    kill();
    throw e;
  } finally {
    releaseThroughHelper(h.pid);
  }
  const [stdout, stderr] = fds.map((fd) => new net.Socket({ fd, readable: true, writable: false })) as [net.Socket, net.Socket];
  const drained = (s: net.Socket) =>
    new Promise<void>((resolve) => {
      s.once('error', () => resolve());
      s.once('close', () => resolve());
    });
  const outputs = Promise.all([drained(stdout), drained(stderr)]);
  const closed = h.exited.then(async (end) => {
    // Without the helper nobody reports the exit, and the program may still hold its pipes open.
    if ('lost' in end) throw new Error(`the sys helper exited while ${argv[0]} ran`);
    await outputs;
    return { code: end.code ?? null, sig: end.signal !== undefined ? (signalNamed(end.signal) ?? 'SIGKILL') : null };
  });
  void h.exited.then((end) => (ended = !('lost' in end)));
  return { stdout, stderr, closed, kill };
}

/** The name of signal number `n` (9 → SIGKILL), if this platform has one. */
export function signalNamed(n: number): NodeJS.Signals | undefined {
  return Object.entries(os.constants.signals).find(([, v]) => v === n)?.[0] as NodeJS.Signals | undefined;
}
