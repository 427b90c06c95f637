import type { ContainerStore } from './container-store.ts';
import type { ContainerRecord } from './record.ts';
import { unmountContainerRoot } from './rootfs.ts';
import { RuncControl } from './runc.ts';
import { removeVolume } from './volumes.ts';

/**
 * Removes a stopped container's files: runc leftovers, its root mount, its directory, its image
 * ref and, with `volumes`, its anonymous volumes (named volumes always stay).
 */
export async function removeContainerFiles(cs: ContainerStore, rec: ContainerRecord, o: { volumes: boolean }): Promise<void> {
  const p = cs.paths(rec.id);
  const control = new RuncControl(p.runtime);
  for (const c of await control.list()) await control.delete(c.id);
  await unmountContainerRoot(p);
  await cs.delete(rec.id);
  if (o.volumes) for (const m of rec.mounts) if (m.type === 'volume' && m.anonymous && m.name) removeVolume(cs.volumesDir, m.name);
}
