// Child processes for the benchmark: every one started here is tracked so a crash or Ctrl-C
// still stops the registry and dockerd this run started (and nothing else).
import { spawn } from 'node:child_process';
import fs from 'node:fs';

const live = new Set();
// Detached processes this run started through a command (a tbuild build server): not children.
const adopted = new Set();
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    for (const c of live) c.kill('SIGTERM');
    for (const pid of adopted) signalPid(pid, 'SIGTERM');
    process.exit(130);
  });
}
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

function signalPid(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}

/** Stops `pid` (SIGTERM) if the benchmark is interrupted before it calls `release`. */
export function adoptPid(pid) {
  adopted.add(pid);
  return () => adopted.delete(pid);
}

/** Starts a long-lived process whose output goes to `logFd`; stopped by stopProc or at exit. */
export function startProc(cmd, args, logFd, opts = {}) {
  const c = spawn(cmd, args, { stdio: ['ignore', logFd, logFd], ...opts });
  live.add(c);
  c.once('exit', () => live.delete(c));
  return c;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopProc(c, graceMs = 15_000) {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const gone = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  const t = setTimeout(() => c.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(t);
}

const TIME = '/usr/bin/time';
const haveTime = fs.existsSync(TIME);

/**
 * Runs a command to completion. Resolves {code, stdout, stderr, ms} (ms = wall time from spawn
 * to exit); rejects with the output when `check` (default true) and the exit code is not 0.
 * With `peakFile`, the command runs under `/usr/bin/time -f %M -o peakFile` where that is
 * installed, and `peakMb` is its peak resident memory.
 */
export function run(cmd, args, opts = {}) {
  const { check = true, input, env, cwd, peakFile } = opts;
  const timed = peakFile && haveTime;
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const [command, argv] = timed ? [TIME, ['-f', '%M', '-o', peakFile, cmd, ...args]] : [cmd, args];
    const c = spawn(command, argv, { stdio: ['pipe', 'pipe', 'pipe'], env: env ?? process.env, cwd });
    live.add(c);
    const out = [];
    const err = [];
    c.stdout.on('data', (d) => out.push(d));
    c.stderr.on('data', (d) => err.push(d));
    c.on('error', (e) => {
      live.delete(c);
      reject(e);
    });
    c.on('close', (code, signal) => {
      live.delete(c);
      const r = {
        code: code ?? 128,
        signal,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        ms: Number(process.hrtime.bigint() - t0) / 1e6,
        ...(timed ? { peakMb: peakMb(peakFile) } : {}),
      };
      if (check && r.code !== 0) {
        const tail = (r.stderr || r.stdout).split('\n').slice(-25).join('\n');
        reject(new Error(`${cmd} ${args.join(' ')} exited ${r.code}${signal ? ` (${signal})` : ''}:\n${tail}`));
      } else resolve(r);
    });
    c.stdin.on('error', () => {});
    c.stdin.end(input);
  });
}

/** Parses `/usr/bin/time -f %M` output (KiB) into MB. */
function peakMb(file) {
  try {
    const kib = Number(fs.readFileSync(file, 'utf8').trim().split('\n').pop());
    return Number.isFinite(kib) ? kib / 1024 : undefined;
  } catch {
    return undefined;
  }
}
