// The client half of `tbuild server`: when a server runs for the store, a build is sent to it
// instead of being run here, so the command skips loading and warming up tbuild (most of a warm
// build's time). Anything that goes wrong before the server accepts falls back to running here.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { KIND, FrameReader, bundleIdentity, frame, serverSocketPath } = require('./server-protocol.js');

/** `tbuild build …` or the shorthand `tbuild [flags] DIR`, as the CLI reads it; not help or version. */
function isBuildCommand(argv) {
  let i = 0;
  // The global `--root DIR` may come before the command (cli/main.ts: leadingGlobals).
  while (argv[i] === '--root' || (argv[i] ?? '').startsWith('--root=')) i += argv[i] === '--root' ? 2 : 1;
  const first = argv[i];
  if (first === undefined || first === '-h' || first === '--help' || first === '--version') return false;
  return first === 'build' || first.startsWith('-') || first === '.' || first.includes('/');
}

/**
 * Builds only: the other commands are quick already. Input stays here: a Dockerfile or context
 * on stdin, or a path into this process's own descriptors.
 */
function routable(argv) {
  return isBuildCommand(argv) && !argv.some((a) => a === '-' || /\/dev\/(stdin|fd\/|tty)|\/proc\/self\//.test(a));
}

/** The store `argv` builds into, as the CLI decides it (cli/root.ts and cache's defaultStoreRoot). */
function storeRoot(argv, env, cwd) {
  let root;
  for (let i = 0; i < argv.length && argv[i] !== '--'; i++) {
    if (argv[i] === '--root' && argv[i + 1] !== undefined) root = argv[++i];
    else if (argv[i].startsWith('--root=')) root = argv[i].slice('--root='.length);
  }
  if (root) return path.resolve(cwd, root);
  if (env.TBUILD_ROOT) return path.resolve(env.TBUILD_ROOT);
  if (env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME)) return path.join(env.XDG_DATA_HOME, 'tbuild');
  return path.join(env.HOME || os.homedir(), '.local', 'share', 'tbuild');
}

const streamInfo = (s) => ({ tty: Boolean(s.isTTY), columns: s.columns });
const ACCEPT_TIMEOUT_MS = Number(process.env.TBUILD_SERVER_ACCEPT_TIMEOUT_MS) || 10_000;

/**
 * Runs `argv` on the store's build server and resolves to its exit code, or to undefined when
 * there is no server to run it (none running, TBUILD_NO_SERVER set, another tbuild build).
 */
async function runViaServer(argv, bundle) {
  if (process.env.TBUILD_NO_SERVER || !routable(argv)) return undefined;
  const sock = serverSocketPath(storeRoot(argv, process.env, process.cwd()));
  if (!fs.existsSync(sock)) return undefined;
  let identity;
  try {
    identity = bundleIdentity(bundle);
  } catch {
    return undefined;
  }
  const net = require('node:net');
  return new Promise((resolve) => {
    const conn = net.createConnection(sock);
    const reader = new FrameReader();
    let accepted = false;
    let interrupted = false;
    let exitCode;
    // As when the build runs here: the first ^C cancels it (the server cleans up), a second quits.
    const onSignal = (sig) => {
      if (interrupted) process.exit(130);
      interrupted = true;
      conn.write(frame(KIND.signal, sig));
    };
    const onResize = () => conn.write(frame(KIND.resize, JSON.stringify({ stdout: process.stdout.columns, stderr: process.stderr.columns })));
    const out = (stream, payload) => {
      if (!stream.write(payload)) {
        conn.pause();
        stream.once('drain', () => conn.resume());
      }
    };
    // Queued until the socket connects; a failed connect ends in 'close' like any other.
    const hello = { identity, argv, cwd: process.cwd(), env: process.env, stdout: streamInfo(process.stdout), stderr: streamInfo(process.stderr) };
    conn.write(frame(KIND.hello, JSON.stringify(hello)));
    // A server that takes the connection but never answers (stopped, hung) is given up on.
    const unanswered = setTimeout(() => conn.destroy(), ACCEPT_TIMEOUT_MS);
    conn.on('data', (chunk) => {
      for (const f of reader.push(chunk)) {
        if (f.kind === KIND.accepted) {
          clearTimeout(unanswered);
          accepted = true;
          process.on('SIGINT', onSignal);
          process.on('SIGTERM', onSignal);
          process.stderr.on('resize', onResize);
        } else if (f.kind === KIND.refused) {
          conn.destroy();
        } else if (f.kind === KIND.stdout) out(process.stdout, f.payload);
        else if (f.kind === KIND.stderr) out(process.stderr, f.payload);
        else if (f.kind === KIND.exit) exitCode = Number(f.payload.toString());
      }
    });
    conn.on('error', () => undefined); // 'close' follows and decides
    conn.on('close', () => {
      clearTimeout(unanswered);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.stderr.off('resize', onResize);
      if (!accepted) return resolve(undefined);
      if (exitCode !== undefined) return resolve(exitCode);
      process.stderr.write(`error TB_SERVER_GONE: the tbuild server stopped before the build finished\nhint: its log is ${path.join(path.dirname(sock), 'server.log')}; run the build again (without a server: TBUILD_NO_SERVER=1)\n`);
      resolve(1);
    });
  });
}

module.exports = { isBuildCommand, runViaServer };
