import fs from 'node:fs/promises';
import path from 'node:path';
import { listOrEmpty, type Store } from '@tbuild/cache';
import { cleanupStaleContainers, cleanupStaleSnapshots, killRuncProcessesUnder, pidAlive as alive, reapStaleNetworks } from '@tbuild/executor';

export { pidAlive as alive } from '@tbuild/executor';

/** Pids of tbuild processes that have a run dir in the store and still run (a build in progress). */
export async function liveBuilds(store: Store): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await fs.readdir(store.runDir).catch(() => [] as string[])) {
    const pid = Number(entry);
    if (Number.isInteger(pid) && pid !== process.pid && alive(pid)) out.push(pid);
  }
  return out;
}

/**
 * Cleans what killed builds left under `run/` (containers, overlay mounts, upper dirs), as the
 * next build would: `cache verify` and `cache prune` leave a store with nothing mounted for a
 * process that no longer exists. Returns the pids whose leftovers were removed.
 */
export async function reapDeadBuilds(store: Store, runtime?: string): Promise<number[]> {
  const reaped: number[] = [];
  // Every build starts with this: listed synchronously (@tbuild/cache, fs-util.ts).
  for (const entry of listOrEmpty(store.runDir)) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid || alive(pid)) continue;
    const stale = path.join(store.runDir, entry);
    // Its runc processes first: one still starting would write into the dir as it is removed.
    await killRuncProcessesUnder(stale).catch(() => undefined);
    for (const build of await fs.readdir(stale).catch(() => [] as string[])) {
      const dir = path.join(stale, build);
      await cleanupStaleContainers(dir, runtime).catch(() => undefined);
      await cleanupStaleSnapshots(dir).catch(() => undefined);
    }
    // A container killed just now may still be writing into its upper dir (ENOTEMPTY).
    await fs.rm(stale, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 }).catch(() => undefined);
    reaped.push(pid);
  }
  // Bridge namespaces are machine-wide, not per store: those of any dead tbuild go too.
  await reapStaleNetworks(alive).catch(() => undefined);
  return reaped;
}
