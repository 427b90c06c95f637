import fs from 'node:fs';

/**
 * Who created a piece of state under a stateDir: pid plus the process start time, so a reused pid
 * is not mistaken for the original owner. `cleanupStale` only removes state whose owner is gone.
 */
export interface OwnerRecord {
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot). */
  start: string;
}

/**
 * The fields of /proc/<pid>/stat after comm, from field 3 (the state) on; undefined when the
 * process is gone. comm (field 2) may contain spaces and parentheses, so they start after the
 * last ')'.
 */
export function procStatFields(pid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

function processStart(pid: number): string | undefined {
  return procStatFields(pid)?.[19];
}

export function currentOwner(): OwnerRecord {
  return { pid: process.pid, start: processStart(process.pid) ?? '' };
}

export function writeOwner(dir: string): void {
  fs.writeFileSync(`${dir}/owner.json`, JSON.stringify(currentOwner()));
}

/** True when the owner recorded in `dir` is still running (or the record is unreadable but fresh). */
export function ownerAlive(dir: string): boolean {
  let rec: OwnerRecord;
  try {
    rec = JSON.parse(fs.readFileSync(`${dir}/owner.json`, 'utf8')) as OwnerRecord;
  } catch {
    // A dir without a readable record is being set up right now, or was left half-made by a
    // killed process; only treat it as stale once it is old enough not to be in the making.
    try {
      return Date.now() - fs.statSync(dir).mtimeMs < 60_000;
    } catch {
      return false;
    }
  }
  return processStart(rec.pid) === rec.start;
}
