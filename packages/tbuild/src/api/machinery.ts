import fs from 'node:fs/promises';
import path from 'node:path';
import type { Store } from '@tbuild/cache';
import { reapDeadBuilds } from './cache/reap.ts';
import { cleanupStaleSnapshots, OverlaySnapshotter, RuncRuntime, type ContainerRuntime, type Snapshotter } from '@tbuild/executor';

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
  await reapDeadBuilds(store, runtimeBinary);
  const stateDir = path.join(store.runDir, String(process.pid), String(++builds));
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
      // A long-lived process (a build server) counts as a running build while run/<pid> exists.
      await fs.rmdir(path.dirname(stateDir)).catch(() => undefined);
    },
  };
}
