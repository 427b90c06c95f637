import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Store } from '@tbuild/cache';
import { isBuildError } from '@tbuild/errors';
import { BridgeNetwork, defaultHostsFile, resolveUser, RuncRuntime, type RunIO, type RunMount, type RunRequest } from '@tbuild/executor';
import { readImage } from '@tbuild/registry';
import { serveAttach, type AttachServer } from './attach-socket.ts';
import { forwardPorts } from './ports.ts';
import { ContainerStore } from './container-store.ts';
import { imageLowers } from './image-layers.ts';
import { DEFAULT_ROTATION, LogWriter, type LogRotation } from './log-file.ts';
import { anyAttached, STDIN_TAG, waitForAttached } from './attach-marker.ts';
import { selfIdentity } from './process-identity.ts';
import type { ContainerRecord, ContainerState } from './record.ts';
import { removeContainerFiles } from './remove.ts';
import { mountContainerRoot, unmountContainerRoot } from './rootfs.ts';
import { RuncControl } from './runc.ts';

export interface SuperviseOptions {
  storeRoot: string;
  id: string;
  /** Chosen by `startContainer`; written into every state of this run so its caller can tell them from older ones. */
  startId: string;
  runc?: string;
  rotation?: LogRotation;
  /** How long an auto-removed container waits for attached clients to finish reading its logs. */
  attachGraceMs?: number;
}

/**
 * Runs one start of a container to its end, in a process of its own that outlives the CLI
 * (docker has containerd-shim for this; we use a detached `node` re-running the tbuild CLI's
 * hidden `__supervise` command). Why a supervisor rather than `runc run --detach`: something
 * must wait for the process to learn its exit code, capture its output into rotated log files,
 * and watch for OOM kills; a detached runc container has no parent to do any of that.
 *
 * Order: record itself in state.json (status `created` with this supervisor) → mount the root
 * (the image's shared snapshots + init layer + the container's upper dir) → run the process
 * with the executor's RuncRuntime (same spec, security checks and cleanup as a RUN) → once
 * runc reports the init pid, state `running` → on exit, state `exited` with code, finish time
 * and OOM flag → unmount; with `autoRemove`, wait for attached clients and remove everything.
 * SIGTERM/SIGINT to the supervisor kill the container (it then ends like `kill`).
 */
export async function superviseContainer(o: SuperviseOptions): Promise<void> {
  const store = await Store.open(o.storeRoot);
  const cs = await ContainerStore.open(store);
  const rec = cs.resolve(o.id);
  const p = cs.paths(rec.id);
  const me = selfIdentity();
  const prev = cs.readState(rec.id);
  const state: ContainerState = {
    ...prev,
    status: 'created',
    pid: 0,
    exitCode: 0,
    oomKilled: false,
    error: '',
    startId: o.startId,
    supervisor: me,
    restartCount: prev.startedAt ? prev.restartCount + 1 : 0,
  };
  delete state.startedAt;
  delete state.finishedAt;
  delete state.runcId;
  const save = (): void => cs.writeState(rec.id, state);
  save();

  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', () => undefined);

  const control = new RuncControl(p.runtime, o.runc);
  const log = new LogWriter(p.log, o.rotation ?? DEFAULT_ROTATION);
  let events: ChildProcess | undefined;
  let oom = false;
  let settled = false;
  let server: AttachServer | undefined;
  let bridge: BridgeNetwork | undefined;
  let forwarder: Awaited<ReturnType<typeof forwardPorts>> | undefined;
  const oomKillsBefore = rec.hostConfig.memory > 0 ? hostOomKills() : undefined;
  const launched = Date.now();
  try {
    const image = await readImage(store, rec.image.digest);
    await mountContainerRoot(p, await imageLowers(store, image));
    const req = runRequest(rec, p.rootfs);
    if (rec.hostConfig.networkMode === 'bridge') {
      const lease = (await (bridge = new BridgeNetwork()).acquire())!;
      Object.assign(req, { network: { netns: lease.path }, resolvConf: lease.resolvConf, hostsFile: defaultHostsFile(req.hostname!, lease.address) });
      state.network = { ipAddress: lease.address, prefixLen: lease.prefix, gateway: lease.gateway };
      if (rec.hostConfig.portBindings?.length) {
        forwarder = await forwardPorts(rec.hostConfig.portBindings, lease.address);
        state.network.ports = forwarder.bound;
      }
    }
    const runtime = new RuncRuntime({ stateDir: p.runtime, runc: o.runc });
    // Listening before the process starts, so `run -i` finds the socket as soon as `start` returns.
    // An attached `run -i` leaves a stdin marker before the start; if its process dies before it
    // connects, nothing else would ever end the process's stdin (docker attaches before starting).
    const stdinMarker = { any: false };
    const abandoned = (): boolean => !anyAttached(p.attach, STDIN_TAG, stdinMarker) && stdinMarker.any;
    if (rec.hostConfig.openStdin || rec.hostConfig.tty) server = await serveAttach(p.dir, rec.hostConfig.openStdin ? abandoned : undefined);
    const io: RunIO = { onStdout: (b) => log.write('stdout', b), onStderr: (b) => log.write('stderr', b) };
    if (rec.hostConfig.openStdin) io.stdin = server!.stdin;
    if (server) io.onResizer = (fn) => (server!.resize = fn);
    const running = runtime.run(req, io, abort.signal);
    void running.finally(() => (settled = true)).catch(() => undefined);
    // RuncRuntime reports only the end; learn the start (pid) from runc itself.
    for (;;) {
      if (settled) break;
      const runcId = control.currentId();
      const st = runcId ? await control.state(runcId) : undefined;
      if (runcId && st && st.pid > 0 && st.status === 'running') {
        Object.assign(state, { status: 'running', pid: st.pid, runcId, startedAt: new Date().toISOString() });
        save();
        events = control.events(runcId, () => (oom = true));
        if (rec.hostConfig.nanoCpus > 0) {
          const period = 100_000;
          await control.update(runcId, ['--cpu-period', String(period), '--cpu-quota', String(Math.round((rec.hostConfig.nanoCpus * period) / 1e9))]).catch((e: Error) => {
            log.write('stderr', Buffer.from(`tbuild: could not apply --cpus: ${e.message}\n`));
          });
        }
        break;
      }
      await sleep(20);
    }
    const result = await running;
    state.exitCode = result.exitCode;
    state.startedAt ??= new Date().toISOString();
  } catch (e) {
    state.startedAt ??= new Date().toISOString();
    if (isBuildError(e) && e.code === 'TB_EXEC_CANCELLED') {
      state.exitCode = 137;
    } else {
      // docker's codes: 127 command not found, 126 cannot be run, 125 anything else before the process.
      state.exitCode = isBuildError(e) && e.code === 'TB_EXEC_START_FAILED' ? (/permission denied/i.test(e.message) ? 126 : 127) : 125;
      state.error = isBuildError(e) ? `${e.code}: ${e.message}` : String((e as Error)?.stack ?? e);
    }
  } finally {
    // The kernel reports an OOM kill a moment after the process dies; give runc events that moment.
    if (events && state.exitCode === 137 && !oom) await sleep(200);
    // A process that outgrows its limit at once can die before `runc events` watches it (seen
    // with `tail /dev/zero` under 32 MB on a loaded machine): then the kernel's count of OOM
    // kills tells. Only for a short life, where another OOM kill on the host is unlikely to
    // coincide with a `kill` of this one.
    if (!oom && state.exitCode === 137 && Date.now() - launched < EARLY_OOM_MS && oomKillsBefore !== undefined && (hostOomKills() ?? 0) > oomKillsBefore) oom = true;
    events?.kill('SIGKILL');
    server?.close();
    log.close();
    await unmountContainerRoot(p).catch(() => undefined);
    forwarder?.close();
    await bridge?.close().catch(() => undefined);
    delete state.network;
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
  Object.assign(state, { status: 'exited', pid: 0, finishedAt: new Date().toISOString(), oomKilled: oom });
  save();
  if (rec.hostConfig.autoRemove) {
    await waitForAttached(p.attach, o.attachGraceMs ?? 60_000);
    await removeContainerFiles(cs, rec, { volumes: true });
  }
}

/** The RunRequest for the executor's runtime: the record's process, user resolved in the mounted root. */
export function runRequest(rec: ContainerRecord, rootfs: string): RunRequest {
  const user = resolveUser(rootfs, rec.config.User ?? '');
  const env = [...(rec.config.Env ?? [])];
  const has = (k: string): boolean => env.some((e) => e.startsWith(`${k}=`));
  if (!has('HOSTNAME')) env.push(`HOSTNAME=${rec.config.Hostname ?? rec.id.slice(0, 12)}`);
  if (!has('HOME')) env.push(`HOME=${user.home}`);
  if (rec.hostConfig.tty && !has('TERM')) env.push('TERM=xterm'); // as docker does for -t
  const mounts: RunMount[] = rec.mounts.map((m) =>
    m.type === 'tmpfs'
      ? { type: 'tmpfs', target: m.destination, ...(m.sizeBytes !== undefined ? { sizeBytes: m.sizeBytes } : {}) }
      : { type: 'bind', source: m.source, target: m.destination, readonly: m.readonly },
  );
  const limits: RunRequest['limits'] = {};
  if (rec.hostConfig.memory > 0) limits.memoryBytes = rec.hostConfig.memory;
  if (rec.hostConfig.pidsLimit > 0) limits.pids = rec.hostConfig.pidsLimit;
  return {
    rootfs,
    args: [rec.path, ...rec.args],
    env,
    cwd: rec.config.WorkingDir || '/',
    user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
    hostname: String(rec.config.Hostname ?? rec.id.slice(0, 12)),
    // The supervisor swaps `none` for the bridge's namespace once it has one.
    network: rec.hostConfig.networkMode === 'host' ? 'host' : 'none',
    mounts,
    readonlyRootfs: rec.hostConfig.readonlyRootfs,
    limits,
    ...(rec.hostConfig.tty ? { terminal: { rows: rec.hostConfig.consoleSize?.[0] || 24, cols: rec.hostConfig.consoleSize?.[1] || 80 } } : {}),
  };
}

const EARLY_OOM_MS = 5_000;

/** The kernel's count of OOM kills since boot (/proc/vmstat, Linux 4.13+), if it has one. */
function hostOomKills(): number | undefined {
  try {
    const m = /^oom_kill (\d+)$/m.exec(fs.readFileSync('/proc/vmstat', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
