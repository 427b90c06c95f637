import type { ContainerStore } from './container-store.ts';
import { isAlive } from './process-identity.ts';
import type { ContainerRecord, ContainerState } from './record.ts';
import { unmountContainerRoot } from './rootfs.ts';
import { RuncControl } from './runc.ts';

/**
 * The container's state as it really is. state.json is the supervisor's account; when the
 * supervisor is gone without having written the end (SIGKILLed, host rebooted), runc is asked:
 * a process still running is reported as running (its output is no longer captured, `error`
 * says so, and `stop`/`kill` still work through runc); otherwise the container is marked
 * exited (code 255 unless known), runc leftovers are deleted and the root unmounted, and that
 * verdict is saved so every later reader agrees.
 */
export async function reconcileState(cs: ContainerStore, rec: ContainerRecord): Promise<ContainerState> {
  const s = cs.readState(rec.id);
  if (s.status === 'exited' || s.status === 'dead' || !s.supervisor || isAlive(s.supervisor)) return s;
  // The supervisor may have written its last state just now.
  const again = cs.readState(rec.id);
  if (again.status === 'exited' || again.supervisor?.pid !== s.supervisor.pid) return again;
  const p = cs.paths(rec.id);
  const control = new RuncControl(p.runtime);
  const live = (await control.list()).find((c) => c.status === 'running' || c.status === 'paused');
  if (live) {
    return { ...s, status: 'running', pid: live.pid, runcId: live.id, error: 'the supervisor exited; output is no longer captured' };
  }
  for (const c of await control.list()) await control.delete(c.id);
  await unmountContainerRoot(p).catch(() => undefined);
  const out: ContainerState = {
    ...s,
    status: 'exited',
    pid: 0,
    exitCode: s.status === 'running' ? 255 : s.exitCode || 255,
    finishedAt: s.finishedAt ?? new Date().toISOString(),
    error: s.error || 'the container ended while no supervisor watched it (tbuild killed or host rebooted)',
  };
  cs.writeState(rec.id, out);
  return out;
}
