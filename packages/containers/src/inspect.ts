import type { ContainerStore } from './container-store.ts';
import type { ContainerRecord, ContainerState } from './record.ts';
import { reconcileState } from './state.ts';
import { formatBinding, type PortBinding } from './ports.ts';

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** docker's human status: `Up 5 minutes`, `Exited (0) 2 hours ago`, `Created`. */
export function statusText(s: ContainerState, now = Date.now()): string {
  if (s.status === 'running') return `Up ${duration(now - Date.parse(s.startedAt ?? new Date(now).toISOString()))}`;
  if (s.status === 'exited') return `Exited (${s.exitCode}) ${duration(now - Date.parse(s.finishedAt ?? new Date(now).toISOString()))} ago`;
  if (s.status === 'dead') return 'Dead';
  return 'Created';
}

function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 1) return 'Less than a second';
  if (s < 60) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.floor(s / 60);
  if (m < 60) return m === 1 ? 'About a minute' : `${m} minutes`;
  const h = Math.floor(m / 60);
  if (h < 48) return h === 1 ? 'About an hour' : `${h} hours`;
  return `${Math.floor(h / 24)} days`;
}

/** One `ps` row's data (docker's `--format json` field names). */
export interface ContainerSummary {
  ID: string;
  Image: string;
  Command: string;
  CreatedAt: string;
  Status: string;
  State: ContainerState['status'];
  Ports: string;
  Names: string;
  ExitCode: number;
}

/** Containers with their reconciled states; only running ones unless `all`. Newest first, like docker ps. */
export async function listContainers(cs: ContainerStore, o: { all?: boolean } = {}): Promise<ContainerSummary[]> {
  const out: ContainerSummary[] = [];
  for (const rec of cs.list().reverse()) {
    const s = await reconcileState(cs, rec);
    if (!o.all && s.status !== 'running') continue;
    out.push({
      ID: rec.id.slice(0, 12),
      Image: rec.image.ref,
      Command: JSON.stringify([rec.path, ...rec.args].join(' ')),
      CreatedAt: rec.created,
      Status: statusText(s),
      State: s.status,
      Ports: (s.network?.ports ?? []).map(formatBinding).join(', '),
      Names: rec.name,
      ExitCode: s.exitCode,
    });
  }
  return out;
}

/** The shape of `docker container inspect` for one container, limited to what tbuild runs. */
export async function inspectContainer(cs: ContainerStore, idOrName: string): Promise<Record<string, unknown>> {
  const rec: ContainerRecord = cs.resolve(idOrName);
  const s = await reconcileState(cs, rec);
  const p = cs.paths(rec.id);
  const h = rec.hostConfig;
  return {
    Id: rec.id,
    Created: rec.created,
    Path: rec.path,
    Args: rec.args,
    State: {
      Status: s.status,
      Running: s.status === 'running',
      Paused: false,
      Restarting: false,
      OOMKilled: s.oomKilled,
      Dead: s.status === 'dead',
      Pid: s.pid,
      ExitCode: s.exitCode,
      Error: s.error,
      StartedAt: s.startedAt ?? ZERO_TIME,
      FinishedAt: s.finishedAt ?? ZERO_TIME,
    },
    Image: rec.image.configDigest,
    LogPath: p.log,
    Name: `/${rec.name}`,
    RestartCount: s.restartCount,
    Driver: 'overlay2',
    NetworkSettings: { IPAddress: s.network?.ipAddress ?? '', Gateway: s.network?.gateway ?? '', IPPrefixLen: s.network?.prefixLen ?? 0, Ports: portMap(s.network?.ports ?? []) },
    HostConfig: {
      Binds: rec.mounts.filter((m) => m.type === 'bind').map((m) => `${m.source}:${m.destination}${m.readonly ? ':ro' : ''}`),
      NetworkMode: h.networkMode,
      PortBindings: portMap(h.portBindings ?? []),
      AutoRemove: h.autoRemove,
      ReadonlyRootfs: h.readonlyRootfs,
      Memory: h.memory,
      NanoCpus: h.nanoCpus,
      CpuPeriod: h.nanoCpus > 0 ? 100_000 : 0,
      CpuQuota: h.nanoCpus > 0 ? Math.round((h.nanoCpus * 100_000) / 1e9) : 0,
      PidsLimit: h.pidsLimit > 0 ? h.pidsLimit : null,
      Tmpfs: Object.fromEntries(rec.mounts.filter((m) => m.type === 'tmpfs').map((m) => [m.destination, m.sizeBytes ? `size=${m.sizeBytes}` : ''])),
      StopTimeout: h.stopTimeout,
      ConsoleSize: h.consoleSize ?? [0, 0],
    },
    GraphDriver: { Name: 'overlay2', Data: { UpperDir: p.upper, WorkDir: p.work, MergedDir: p.rootfs } },
    Mounts: rec.mounts.map((m) => ({
      Type: m.type,
      ...(m.name ? { Name: m.name } : {}),
      Source: m.source,
      Destination: m.destination,
      Mode: m.type === 'bind' ? (m.readonly ? 'ro' : '') : '',
      RW: !m.readonly,
    })),
    Config: { ...rec.config, Image: rec.image.ref, Tty: h.tty ?? false, OpenStdin: h.openStdin ?? false, StdinOnce: h.openStdin ?? false },
  };
}

/** docker's `{"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}` (a requested port 0 reads as ""). */
function portMap(bindings: PortBinding[]): Record<string, Array<{ HostIp: string; HostPort: string }>> {
  const out: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const b of bindings) (out[`${b.containerPort}/${b.proto}`] ??= []).push({ HostIp: b.hostIp, HostPort: b.hostPort ? String(b.hostPort) : '' });
  return out;
}
