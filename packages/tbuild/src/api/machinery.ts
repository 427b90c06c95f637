import fs from 'node:fs/promises';
import path from 'node:path';
import type { Store } from '@tbuild/cache';
import { cleanupStaleContainers, cleanupStaleSnapshots, OverlaySnapshotter, RuncRuntime, type ContainerRuntime, type Snapshotter } from '@tbuild/executor';

export interface ExecutorState {
  stateDir: string;
  runtime: ContainerRuntime;
  snapshotter: Snapshotter;
  close(): Promise<void>;
}

let builds = 0;

/**
 * The per-build scratch area under the store (`run/<pid>/<n>`): containers, mounts and upper
 * dirs of this build live there, so a later tbuild can tell a dead process's leftovers (its pid
 * is gone) from a running one's and clean them up. Several builds of one process (bake) each
 * get their own.
 */
export async function executorState(store: Store, runtimeBinary?: string): Promise<ExecutorState> {
  const runDir = store.runDir;
  await fs.mkdir(runDir, { recursive: true });
  for (const entry of await fs.readdir(runDir)) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid || alive(pid)) continue;
    const stale = path.join(runDir, entry);
    for (const build of await fs.readdir(stale).catch(() => [] as string[])) {
      const dir = path.join(stale, build);
      await cleanupStaleContainers(dir, runtimeBinary).catch(() => undefined);
      await cleanupStaleSnapshots(dir).catch(() => undefined);
    }
    await fs.rm(stale, { recursive: true, force: true }).catch(() => undefined);
  }
  const stateDir = path.join(runDir, String(process.pid), String(++builds));
  await fs.mkdir(stateDir, { recursive: true });
  const runtime = new RuncRuntime({ runc: runtimeBinary, stateDir });
  const snapshotter = new OverlaySnapshotter({ stateDir });
  return {
    stateDir,
    runtime,
    snapshotter,
    async close() {
      await cleanupStaleSnapshots(stateDir).catch(() => undefined);
      await fs.rm(stateDir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
