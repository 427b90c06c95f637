import fs from 'node:fs';

/**
 * A process identity that survives pid reuse: pid plus the kernel's start time (field 22 of
 * /proc/<pid>/stat). Supervisors and attached clients record one; readers check liveness with it.
 */
export interface ProcessIdentity {
  pid: number;
  start: string;
}

function startTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may hold spaces and parentheses; the fields after the last ')' are plain.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // A zombie has finished: it only waits for its parent to collect the exit status.
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}

export function selfIdentity(): ProcessIdentity {
  return { pid: process.pid, start: startTime(process.pid) ?? '' };
}

/** Another live process's identity, or undefined when it is gone. */
export function identityOf(pid: number): ProcessIdentity | undefined {
  const start = startTime(pid);
  return start === undefined ? undefined : { pid, start };
}

export function isAlive(p: ProcessIdentity | undefined): boolean {
  return p !== undefined && p.pid > 0 && startTime(p.pid) === p.start;
}
