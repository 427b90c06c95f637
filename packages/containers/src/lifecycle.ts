import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { attach } from './attach-marker.ts';
import type { ContainerStore } from './container-store.ts';
import { containerError } from './errors.ts';
import { isAlive } from './process-identity.ts';
import type { ContainerRecord, ContainerState } from './record.ts';
import { removeContainerFiles } from './remove.ts';
import { normalizeSignal } from './run-options.ts';
import { RuncControl } from './runc.ts';
import { reconcileState } from './state.ts';
import { sleep } from './supervisor.ts';

/** Which container start a supervisor process is for. */
export interface SuperviseTarget {
  storeRoot: string;
  id: string;
  startId: string;
}

/**
 * How to start a supervisor process (see `superviseContainer`): the CLI re-runs itself with its
 * hidden `__supervise` command; tests run a bundled entry. The process is started detached, in
 * its own session, with output to `<container>/supervisor.log`.
 */
export type SupervisorLauncher = (t: SuperviseTarget) => { command: string; args: string[] };

const POLL_MS = 25;

/**
 * Starts a created or exited container in a new supervisor and waits until it runs (state
 * `running`) or has already ended (`exited`, with `error` set when it could not start at all).
 * A running container is left alone. Throws TB_CONTAINER_START_FAILED when the supervisor
 * itself dies before reporting (its log is in the details).
 */
export async function startContainer(cs: ContainerStore, idOrName: string, launch: SupervisorLauncher): Promise<ContainerState> {
  const rec = cs.resolve(idOrName);
  const current = await reconcileState(cs, rec);
  if (current.status === 'running') return current;
  if (current.supervisor && isAlive(current.supervisor)) await waitForSupervisorExit(cs, rec, 30_000);
  const startId = crypto.randomBytes(8).toString('hex');
  const { command, args } = launch({ storeRoot: cs.store.root, id: rec.id, startId });
  const logFile = path.join(cs.paths(rec.id).dir, 'supervisor.log');
  // Until this sees the start, a quick --rm container must not be removed from under it.
  const detach = attach(cs.paths(rec.id).attach, 'start');
  try {
    return await superviseStart(cs, rec, { command, args, startId, logFile });
  } finally {
    detach();
  }
}

async function superviseStart(
  cs: ContainerStore,
  rec: ContainerRecord,
  { command, args, startId, logFile }: { command: string; args: string[]; startId: string; logFile: string },
): Promise<ContainerState> {
  const out = fs.openSync(logFile, 'a', 0o600);
  let exited: number | null | undefined;
  let spawnError: Error | undefined;
  try {
    const child = spawn(command, args, { detached: true, stdio: ['ignore', out, out] });
    child.on('error', (e) => (spawnError = e));
    child.on('exit', (code) => (exited = code));
    child.unref();
  } finally {
    fs.closeSync(out);
  }
  for (;;) {
    const s = cs.readState(rec.id);
    if (s.startId === startId && (s.status === 'running' || s.status === 'exited')) return s;
    if (spawnError || (exited !== undefined && !(s.startId === startId && s.status !== 'created'))) {
      // One more look: the supervisor may have finished between the two reads.
      const last = cs.readState(rec.id);
      if (last.startId === startId && last.status !== 'created') return last;
      const tail = readTail(logFile);
      throw containerError('TB_CONTAINER_START_FAILED', `the container supervisor for ${rec.name} ${spawnError ? `could not be started: ${spawnError.message}` : `exited (${exited}) before the container started`}`, {
        details: tail,
        hint: 'this is likely a tbuild bug or a broken installation; the supervisor log is in the details',
      });
    }
    await sleep(POLL_MS);
  }
}

function readTail(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-20);
  } catch {
    return [];
  }
}

async function waitForSupervisorExit(cs: ContainerStore, rec: ContainerRecord, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && isAlive(cs.readState(rec.id).supervisor)) await sleep(POLL_MS);
}

/** Polls until the container is no longer running (or `ms` passed); returns the last state seen. */
export async function waitNotRunning(cs: ContainerStore, rec: ContainerRecord, ms = Infinity, signal?: AbortSignal): Promise<ContainerState> {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = await reconcileState(cs, rec);
    if (s.status !== 'running' || Date.now() >= deadline || signal?.aborted) return s;
    await sleep(POLL_MS);
  }
}

/** Waits for the container to stop and its supervisor to finish its bookkeeping; `tbuild wait`. */
export async function waitContainer(cs: ContainerStore, idOrName: string, signal?: AbortSignal): Promise<ContainerState> {
  const rec = cs.resolve(idOrName);
  for (;;) {
    const s = await reconcileState(cs, rec);
    if ((s.status === 'exited' || s.status === 'dead' || (s.status === 'created' && !s.supervisor)) || signal?.aborted) return s;
    await sleep(POLL_MS);
  }
}

function stopSignalOf(rec: ContainerRecord): string {
  const s = rec.config.StopSignal;
  return s ? normalizeSignal(String(s)) : 'SIGTERM';
}

/**
 * docker stop: the image's STOPSIGNAL (default SIGTERM), then SIGKILL after `timeoutSec`
 * (default: the container's stop timeout, 10 s). Returns the state after the end; a container
 * that is not running is returned as is.
 */
export async function stopContainer(cs: ContainerStore, idOrName: string, o: { timeoutSec?: number; signal?: string } = {}): Promise<ContainerState> {
  const rec = cs.resolve(idOrName);
  let s = await reconcileState(cs, rec);
  if (s.status !== 'running' || !s.runcId) return s;
  const control = new RuncControl(cs.paths(rec.id).runtime);
  await control.kill(s.runcId, o.signal ? normalizeSignal(o.signal) : stopSignalOf(rec)).catch(() => undefined);
  s = await waitNotRunning(cs, rec, (o.timeoutSec ?? rec.hostConfig.stopTimeout) * 1000);
  if (s.status === 'running' && s.runcId) {
    await control.kill(s.runcId, 'SIGKILL').catch(() => undefined);
    s = await waitNotRunning(cs, rec, 30_000);
  }
  await waitForSupervisorExit(cs, rec, 30_000);
  return reconcileState(cs, rec).catch(() => s);
}

/** docker kill: sends `signal` (default SIGKILL) to the container's init. TB_CONTAINER_NOT_RUNNING otherwise. */
export async function killContainer(cs: ContainerStore, idOrName: string, signal = 'SIGKILL'): Promise<void> {
  const rec = cs.resolve(idOrName);
  const s = await reconcileState(cs, rec);
  if (s.status !== 'running' || !s.runcId) {
    throw containerError('TB_CONTAINER_NOT_RUNNING', `container ${rec.name} is not running`);
  }
  await new RuncControl(cs.paths(rec.id).runtime).kill(s.runcId, normalizeSignal(signal));
}

export async function restartContainer(cs: ContainerStore, idOrName: string, launch: SupervisorLauncher, o: { timeoutSec?: number } = {}): Promise<ContainerState> {
  await stopContainer(cs, idOrName, o);
  return startContainer(cs, idOrName, launch);
}

/**
 * docker rm: a running container is refused unless `force` (then killed). `volumes` also
 * removes its anonymous volumes. Returns the removed container's id.
 */
export async function removeContainer(cs: ContainerStore, idOrName: string, o: { force?: boolean; volumes?: boolean } = {}): Promise<string> {
  const rec = cs.resolve(idOrName);
  let s = await reconcileState(cs, rec);
  if (s.status === 'running') {
    if (!o.force) {
      throw containerError('TB_CONTAINER_RUNNING', `cannot remove container ${rec.name}: container is running`, { hint: 'stop the container before removing or force remove (rm -f)' });
    }
    await stopContainer(cs, rec.id, { timeoutSec: 0, signal: 'SIGKILL' });
    s = await reconcileState(cs, rec);
  }
  await waitForSupervisorExit(cs, rec, 30_000);
  await removeContainerFiles(cs, rec, { volumes: o.volumes ?? false });
  return rec.id;
}

/** docker container prune: removes every container that is not running; returns their ids. */
export async function pruneContainers(cs: ContainerStore): Promise<string[]> {
  const removed: string[] = [];
  for (const rec of cs.list()) {
    const s = await reconcileState(cs, rec);
    if (s.status === 'running' || (s.supervisor && isAlive(s.supervisor))) continue;
    await removeContainerFiles(cs, rec, { volumes: false });
    removed.push(rec.id);
  }
  return removed;
}

/** Containers whose image is the manifest `digest` (for `rmi`, which must not pull an image from under them). */
export function containersUsingImage(cs: ContainerStore, digest: string): ContainerRecord[] {
  return cs.list().filter((c) => c.image.digest === digest || c.image.configDigest === digest);
}
