import fsSync from 'node:fs';
import path from 'node:path';
import { useFastLock, type Store } from '@tbuild/cache';
import { reapDeadBuilds } from './cache/reap.ts';
import { cleanupStaleSnapshots, lockThroughHelper, OverlaySnapshotter, RuncRuntime, type ContainerRuntime, type Snapshotter } from '@tbuild/executor';

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
  // Store locks taken once the sys helper runs (a rerun COPY's previous result) need no exec.
  useFastLock(lockThroughHelper);
  await reapDeadBuilds(store, runtimeBinary);
  const stateDir = path.join(store.runDir, String(process.pid), String(++builds));
  // Synchronous, as the store's small reads and writes (@tbuild/cache, fs-util.ts).
  fsSync.mkdirSync(stateDir, { recursive: true });
  const runtime = new RuncRuntime({ runc: runtimeBinary, stateDir });
  const snapshotter = new OverlaySnapshotter({ stateDir });
  return {
    stateDir,
    runtime,
    snapshotter,
    async close() {
      await cleanupStaleSnapshots(stateDir).catch(() => undefined);
      try {
        fsSync.rmSync(stateDir, { recursive: true, force: true });
        // A long-lived process (a build server) counts as a running build while run/<pid> exists.
        fsSync.rmdirSync(path.dirname(stateDir));
      } catch {
        /* another build of this process still uses run/<pid>, or a later build will reap it */
      }
    },
  };
}
