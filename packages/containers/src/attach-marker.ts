import fs from 'node:fs';
import path from 'node:path';
import { safeReaddir } from './container-store.ts';
import { isAlive, selfIdentity, type ProcessIdentity } from './process-identity.ts';

// An auto-removed (--rm) container must not vanish while someone still needs it: an attached
// CLI reading its log, or `startContainer` waiting to see it start. Each leaves a marker file
// named for its process (plus a tag, so one process can hold two); the supervisor removes the
// container once no marker's process is alive.

/** The tag of an attached `run -i`'s second marker: it will connect as the process's stdin. */
export const STDIN_TAG = 'stdin';

/** Whether any marker (with `tag`: any marker so tagged) names a live process; `seen` learns whether one exists at all. */
export function anyAttached(dir: string, tag?: string, seen?: { any: boolean }): boolean {
  return safeReaddir(dir).some((n) => {
    const m = /^(\d+)\.(\d+)(?:\.([a-z]+))?$/.exec(n);
    if (!m || (tag !== undefined && m[3] !== tag)) return false;
    if (seen) seen.any = true;
    return isAlive({ pid: Number(m[1]), start: m[2]! } satisfies ProcessIdentity);
  });
}

/** Waits until no marker's process is alive, or the grace ends. */
export async function waitForAttached(dir: string, graceMs: number): Promise<void> {
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && anyAttached(dir)) await new Promise((r) => setTimeout(r, 50));
}

/** Marks this process as attached to the container; the returned function detaches. */
export function attach(dir: string, tag?: string): () => void {
  const me = selfIdentity();
  const file = path.join(dir, `${me.pid}.${me.start}${tag ? `.${tag}` : ''}`);
  fs.writeFileSync(file, '');
  return () => fs.rmSync(file, { force: true });
}
