import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

// A pid alone is not an identity: pids are reused, so a leftover of a dead build could look
// alive. The kernel's start time (field 22 of /proc/<pid>/stat) pins the pid to one process.
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces and parentheses; fields after the last ')' are plain.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // A zombie has finished; only its parent's wait() is missing.
    return rest[0] === 'Z' ? undefined : rest[19];
  } catch {
    return undefined;
  }
}

const self = `${process.pid}.${startTime(process.pid) ?? '0'}`;
let counter = 0;

/** `<pid>.<starttime>` of this process; prefixes every temp and lease name it creates. */
export function processId(): string {
  return self;
}

/** A fresh name owned by this process: `<pid>.<starttime>.<n>-<random>`. */
export function ownedName(): string {
  return `${self}.${++counter}-${randomBytes(4).toString('hex')}`;
}

/**
 * Whether the process that created `name` (see ownedName) still runs. Names that do not carry
 * an owner count as dead, so foreign junk in tmp/ is cleaned too.
 */
export function ownerAlive(name: string): boolean {
  const m = /^(\d+)\.(\d+)\./.exec(name);
  if (!m) return false;
  const pid = Number(m[1]);
  if (`${pid}.${m[2]}` === self) return true;
  return startTime(pid) === m[2];
}
