import { cleanupStaleSnapshots } from '../snapshot/overlay-snapshotter.ts';
import { cleanupStaleContainers } from './runc-runtime.ts';

/**
 * Removes everything a killed tbuild process left under `stateDir`: its runc containers and
 * bundles first (their processes may hold the root filesystems busy), then its mounted active
 * snapshots. State of live processes sharing the dir is kept. Call once at startup.
 */
export async function cleanupStale(stateDir: string, opts: { runc?: string } = {}): Promise<{ containers: string[]; snapshots: string[] }> {
  const containers = await cleanupStaleContainers(stateDir, opts.runc);
  const snapshots = await cleanupStaleSnapshots(stateDir);
  return { containers, snapshots };
}
