import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import { BuildError } from '@tbuild/errors';
import { FrameReader, KIND, frame, nativeIdentity, serverSocketPath, type Hello } from '../../bin/server-protocol.js';
import type { CliContext } from '../cli/command.ts';

export interface ServeOptions {
  /** The store whose builds this server runs; its socket is `run/server.sock` there. */
  root: string;
  /** The tbuild this process is (bundleIdentity): clients of another are refused. */
  identity: string;
  /** Whether the tbuild this server was started from has changed on disk since (then it stops). */
  stale?(): boolean;
  /** Exit after this long with no build running (0: never). */
  idleMs: number;
  /** Runs one command line, as `main` does, with the client's streams, env and cwd. */
  run(argv: string[], ctx: Partial<CliContext>): Promise<number>;
  log(line: string): void;
}

export interface ServerStatus {
  pid: number;
  root: string;
  socket: string;
  startedAt: string;
  /** Builds run since start, and running now. */
  served: number;
  active: number;
  rssMb: number;
}

/** A stream that forwards writes to the client as frames of `kind`, carrying its terminal's shape. */
function clientStream(sock: net.Socket, kind: number, info: Hello['stdout']): Writable & { isTTY?: boolean; columns?: number } {
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (sock.destroyed) return cb();
      sock.write(frame(kind, chunk), () => cb());
    },
  }) as Writable & { isTTY?: boolean; columns?: number };
  w.isTTY = info?.tty ?? false;
  w.columns = info?.columns;
  return w;
}

/**
 * Serves builds on the store's socket until stopped (`control: stop`, SIGINT/SIGTERM, or idle
 * for `idleMs`). Each connection is one CLI invocation run in this process: its output goes back
 * as it is written, a signal from the client aborts it (as ^C aborts a local build, cleaning
 * up), and a client that goes away aborts it too. Resolves once the socket is gone and every
 * build has finished.
 */
export async function serve(o: ServeOptions): Promise<void> {
  const socket = serverSocketPath(o.root);
  if (Buffer.byteLength(socket) > 107) {
    throw new BuildError({ code: 'TB_SERVER_SOCKET_PATH', message: `the server socket path ${socket} is longer than a unix socket allows (107 bytes)`, hint: 'use a store with a shorter path (--root)' });
  }
  if (await answers(socket)) {
    throw new BuildError({ code: 'TB_SERVER_RUNNING', message: `a tbuild server already runs for ${o.root}`, hint: 'see it with `tbuild server status`; stop it with `tbuild server stop`' });
  }
  fs.mkdirSync(path.dirname(socket), { recursive: true, mode: 0o700 });
  fs.rmSync(socket, { force: true });

  const started = new Date();
  // What the thin client (native/client.c) sends for this same tbuild.
  const thinIdentity = nativeIdentity(o.identity);
  const aborts = new Set<AbortController>();
  let served = 0;
  let stopping = false;
  let idleTimer: NodeJS.Timeout | undefined;
  let gcTimer: NodeJS.Timeout | undefined;
  let finished!: () => void;
  const done = new Promise<void>((r) => (finished = r));

  const status = (): ServerStatus => ({
    pid: process.pid,
    root: o.root,
    socket,
    startedAt: started.toISOString(),
    served,
    active: aborts.size,
    rssMb: Math.round(process.memoryUsage.rss() / 2 ** 20),
  });
  const settle = (): void => {
    if (idleTimer) clearTimeout(idleTimer);
    if (gcTimer) clearTimeout(gcTimer);
    idleTimer = gcTimer = undefined;
    if (aborts.size > 0) return;
    if (stopping) return finished();
    if (o.idleMs > 0) idleTimer = setTimeout(() => stop(`idle for ${Math.round(o.idleMs / 1000)} s`), o.idleMs).unref();
    if (served > 0) gcTimer = setTimeout(collectGarbage, GC_AFTER_MS).unref();
  };
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    o.log(`stopping: ${why}`);
    server.close();
    // Only ours: a server started after this one decided to stop owns the path now.
    if (sameSocket(socket, listening)) fs.rmSync(socket, { force: true });
    settle();
  };

  // `reader` holds what the client sent after its hello; `early` are frames already read.
  const session = (sock: net.Socket, hello: Hello, reader: FrameReader, early: Array<{ kind: number; payload: Buffer }>): void => {
    const controller = new AbortController();
    aborts.add(controller);
    served++;
    settle();
    const stdout = clientStream(sock, KIND.stdout, hello.stdout);
    const stderr = clientStream(sock, KIND.stderr, hello.stderr);
    const abort = (why: string): void => {
      if (!controller.signal.aborted) controller.abort(new Error(why));
    };
    const onFrame = (f: { kind: number; payload: Buffer }): void => {
      if (f.kind === KIND.signal) abort(`interrupted by ${f.payload.toString()}`);
      if (f.kind === KIND.resize) {
        try {
          const cols = JSON.parse(f.payload.toString()) as { stdout?: number; stderr?: number };
          stdout.columns = cols.stdout;
          stderr.columns = cols.stderr;
        } catch {
          /* a malformed resize changes nothing */
        }
      }
    };
    early.forEach(onFrame);
    sock.on('data', (chunk: Buffer) => reader.push(chunk).forEach(onFrame));
    sock.on('close', () => abort('the client went away'));
    const argv = hello.argv ?? [];
    const thin = hello.identity === thinIdentity ? ' (thin client)' : '';
    o.log(`build ${served} for ${hello.cwd}${thin}: tbuild ${redacted(argv).join(' ')}`);
    const began = Date.now();
    o.run(argv, { argv0: 'tbuild', stdout, stderr, stdin: Readable.from([]), env: hello.env ?? {}, cwd: hello.cwd ?? '/', signal: controller.signal })
      .catch((e: unknown) => {
        o.log(`build failed inside the server: ${(e as Error)?.stack ?? String(e)}`);
        return 70;
      })
      .then(async (code) => {
        o.log(`build done: exit ${code} in ${Date.now() - began} ms`);
        // Output still queued behind a slow reader (a client writing into a pipe) goes first:
        // the exit frame ends the connection. (30,000 lines of RUN output arrived half.)
        await Promise.all([stdout, stderr].map((w) => new Promise<void>((resolve) => w.end(() => resolve()))));
        if (!sock.destroyed) sock.end(frame(KIND.exit, String(code)));
        aborts.delete(controller);
        settle();
      });
    sock.write(frame(KIND.accepted));
    sock.resume();
  };

  const server = net.createServer((sock) => {
    const reader = new FrameReader();
    const first = (chunk: Buffer): void => {
      const frames = reader.push(chunk);
      if (frames.length === 0) return;
      sock.off('data', first);
      sock.pause();
      const f = frames[0]!;
      let hello: Hello;
      try {
        if (f.kind !== KIND.hello) throw new Error('no hello');
        hello = JSON.parse(f.payload.toString()) as Hello;
      } catch {
        sock.destroy();
        return;
      }
      // Any tbuild may ask how a server is or stop it (an upgraded one stops the old server).
      if (hello.control === 'status') return void sock.end(frame(KIND.reply, JSON.stringify(status())));
      if (hello.control === 'stop') {
        sock.end(frame(KIND.reply, JSON.stringify(status())));
        return stop('asked to stop');
      }
      if (hello.identity !== o.identity && hello.identity !== thinIdentity) {
        sock.end(frame(KIND.refused, 'this server runs another build of tbuild'));
        // Once the tbuild it was started from has changed, no client will be served again.
        if (o.stale?.()) stop('tbuild was rebuilt or upgraded since the server started');
        return;
      }
      if (stopping) return void sock.end(frame(KIND.refused, 'the server is stopping'));
      session(sock, hello, reader, frames.slice(1));
    };
    sock.on('data', first);
    sock.on('error', () => undefined);
  });

  const onSignal = (sig: NodeJS.Signals): void => {
    for (const c of aborts) c.abort(new Error(`the server got ${sig}`));
    stop(`got ${sig}`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let listening: fs.Stats | undefined;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => resolve());
  });
  fs.chmodSync(socket, 0o600);
  listening = fs.statSync(socket);
  o.log(`listening on ${socket} (pid ${process.pid})`);
  settle();
  try {
    await done;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * A build leaves its garbage to V8, which collects it when it sees fit: a server that ran ten
 * 20,000-file edits in a row peaked at 340 MB, each build's peak stacked on what the last left
 * (one build alone: ~210 MB). So once builds have stopped for a moment and the process holds
 * more than GC_ABOVE_BYTES, the server collects everything; a build arriving sooner cancels it.
 * Not after small builds: the warm build after a full collection ran ~13 ms slower (90 ms).
 */
const GC_AFTER_MS = 200;
const GC_ABOVE_BYTES = 200 * 2 ** 20;

function collectGarbage(): void {
  if (process.memoryUsage.rss() >= GC_ABOVE_BYTES) fullCollect();
}

let fullGc: (() => void) | undefined;
/** A full collection now; false if V8 would not give out its `gc` (then only memory is at stake). */
export function fullCollect(): boolean {
  try {
    // The flag makes `gc` visible to contexts created after it (as jest's leak detector does).
    if (!fullGc) {
      v8.setFlagsFromString('--expose-gc');
      fullGc = vm.runInNewContext('gc') as () => void;
    }
    fullGc();
    return true;
  } catch {
    return false;
  }
}

/** The command line for the log, without build-arg values (they may be tokens). */
export function redacted(argv: string[]): string[] {
  return argv.map((a, i) => {
    const value = a.startsWith('--build-arg=') ? a.slice('--build-arg='.length) : argv[i - 1] === '--build-arg' ? a : undefined;
    if (value === undefined || !value.includes('=')) return a;
    const masked = `${value.slice(0, value.indexOf('='))}=***`;
    return a.startsWith('--build-arg=') ? `--build-arg=${masked}` : masked;
  });
}

function sameSocket(p: string, st: fs.Stats | undefined): boolean {
  try {
    const now = fs.statSync(p);
    return st !== undefined && now.ino === st.ino && now.dev === st.dev;
  } catch {
    return false;
  }
}

/** Whether something accepts connections on `socket` (a live server, not a stale file). */
function answers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.createConnection(socket);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** Sends a control request (`status`, `stop`) to the store's server; undefined when none answers. */
export function control(root: string, what: 'status' | 'stop'): Promise<ServerStatus | undefined> {
  return new Promise((resolve) => {
    const c = net.createConnection(serverSocketPath(root));
    const reader = new FrameReader();
    let answer: ServerStatus | undefined;
    c.once('connect', () => c.write(frame(KIND.hello, JSON.stringify({ identity: '', control: what } satisfies Hello))));
    c.on('data', (chunk: Buffer) => {
      for (const f of reader.push(chunk)) {
        if (f.kind === KIND.reply) answer = JSON.parse(f.payload.toString()) as ServerStatus;
      }
    });
    c.on('error', () => undefined);
    c.on('close', () => resolve(answer));
  });
}
