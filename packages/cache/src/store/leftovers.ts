import fs from 'node:fs/promises';
import path from 'node:path';
import { isErrno, listOrEmpty, mountsUnder } from './fs-util.ts';
import { ownerAlive } from './process-id.ts';

/**
 * Removes temp files/dirs and leases whose owning process is gone (crashed or killed builds).
 * A leftover directory that still has something mounted below it (an overlay of a killed RUN)
 * is left alone: deleting through a live mount would reach into the mounted tree.
 */
export async function removeDeadLeftovers(dir: string): Promise<string[]> {
  const removed: string[] = [];
  // Listed synchronously (every store open does this; see fs-util.ts, readIfExists).
  for (const name of listOrEmpty(dir)) {
    if (ownerAlive(name)) continue;
    const p = path.join(dir, name);
    if ((await mountsUnder(p)).length > 0) continue;
    try {
      await makeWritable(p);
      await fs.rm(p, { recursive: true, force: true });
      removed.push(p);
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
    }
  }
  return removed;
}

// A non-root process cannot delete entries of a 0555 directory an extraction left behind.
async function makeWritable(p: string): Promise<void> {
  if (process.getuid?.() === 0) return;
  const st = await fs.lstat(p);
  if (!st.isDirectory()) return;
  await fs.chmod(p, 0o700).catch(() => {});
  for (const name of await fs.readdir(p)) await makeWritable(path.join(p, name));
}
