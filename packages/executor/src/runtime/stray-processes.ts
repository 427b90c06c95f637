import fs from 'node:fs';
import path from 'node:path';
import { procStatFields } from '../snapshot/owner.ts';

/**
 * Kills the runc processes of a dead build's `dir` and waits (up to `waitMs`) until they are gone.
 * A killed tbuild leaves its `runc run` children running: one that was still starting is not in
 * `runc list` yet, and recreates its state dir after the dead build's leftovers are removed. They
 * are matched by their `--root`, `--bundle` or `--log` under `dir`. Their container's first
 * process (`runc init`), which outlives a killed `runc run` and waits forever on the state dir's
 * exec.fifo, names no path: it is matched by an open file under `dir`. A user's command that
 * merely names a file there (`less …/runc.log`) is left alone. Returns the pids killed.
 */
export async function killRuncProcessesUnder(dir: string, waitMs = 2000): Promise<number[]> {
  const killed: number[] = [];
  for (const pid of runcPidsUnder(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      /* gone already */
    }
  }
  const until = Date.now() + waitMs;
  while (killed.some(running) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  return killed;
}

const RUNC_PATH_OPTIONS = new Set(['--root', '--bundle', '--log']);

/** The runc processes of `dir`: see killRuncProcessesUnder. */
export function runcPidsUnder(dir: string): number[] {
  const prefix = `${path.resolve(dir)}/`;
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (argv.some((a, i) => RUNC_PATH_OPTIONS.has(a) && argv[i + 1]?.startsWith(prefix)) || (isRunc(pid) && holdsFileUnder(pid, prefix))) out.push(pid);
  }
  return out;
}

/** runc names its processes `runc`, and its container's first one `runc:[2:INIT]` and the like. */
function isRunc(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('runc');
  } catch {
    return false;
  }
}

function holdsFileUnder(pid: number, prefix: string): boolean {
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  return fds.some((fd) => {
    try {
      return fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(prefix);
    } catch {
      return false;
    }
  });
}

/** Whether `pid` still runs: a zombie (killed, not yet reaped by its new parent) does nothing more. */
function running(pid: number): boolean {
  const state = procStatFields(pid)?.[0];
  return state !== undefined && state !== 'Z';
}
