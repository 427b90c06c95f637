import type { PortBinding } from './ports.ts';
import type { ContainerConfig } from '@tbuild/registry';
import type { ProcessIdentity } from './process-identity.ts';

/**
 * What a container is, fixed when it is created (`container.json`). `config` is the effective
 * docker-shaped config (image config with the run's overrides applied): `commit` bakes it into the
 * new image, `inspect` shows it. Written once by `createContainer`; never changed afterwards.
 */
export interface ContainerRecord {
  /** 64 lowercase hex digits, like docker's. */
  id: string;
  /** Unique among the store's containers, without docker's leading slash. */
  name: string;
  created: string;
  image: {
    /** What the user typed (`busybox`, `app:1`, a digest). */
    ref: string;
    /** Manifest digest: the layers the container's root is made of. */
    digest: string;
    /** Config digest: docker's image ID. */
    configDigest: string;
  };
  /** The process: `path` + `args` = entrypoint + cmd after the override rules. */
  path: string;
  args: string[];
  config: ContainerConfig;
  hostConfig: HostConfig;
  mounts: MountRecord[];
}

/** Run options that are not part of the image config (docker's HostConfig, trimmed to what tbuild runs). */
export interface HostConfig {
  autoRemove: boolean;
  /** `bridge` (docker's default): a namespace on tbuild's bridge with NAT out; `none`: loopback only. */
  networkMode: 'bridge' | 'none' | 'host';
  /** `-p`: host ports forwarded to the container (bridge only). */
  portBindings?: PortBinding[];
  /** Bytes; 0 = unlimited. */
  memory: number;
  /** CPU quota in units of 1e-9 CPUs, like docker's NanoCpus; 0 = unlimited. */
  nanoCpus: number;
  /** 0 = unlimited. */
  pidsLimit: number;
  readonlyRootfs: boolean;
  /** Seconds `stop` waits after the stop signal before SIGKILL. */
  stopTimeout: number;
  /** `-t`: the process gets a pseudo-terminal (stdout and stderr merged, as docker's Config.Tty). */
  tty?: boolean;
  /** `-i`: the process's stdin is a pipe that `run -i` feeds through the attach socket (docker's Config.OpenStdin). */
  openStdin?: boolean;
  /** `[rows, cols]` of the terminal at start (docker's HostConfig.ConsoleSize); 24x80 when unknown. */
  consoleSize?: [number, number];
}

/** One mount of the container, in docker inspect's vocabulary. */
export interface MountRecord {
  type: 'bind' | 'volume' | 'tmpfs';
  /** Volume name (volumes only). */
  name?: string;
  /** Host path (bind source or the volume's data dir); empty for tmpfs. */
  source: string;
  destination: string;
  readonly: boolean;
  /** An anonymous volume (image VOLUME or `-v /path`): removed with the container by `rm -v` and `--rm`. */
  anonymous?: boolean;
  /** tmpfs size in bytes. */
  sizeBytes?: number;
}

export type ContainerStatus = 'created' | 'running' | 'exited' | 'dead';

/**
 * What a container is doing (`state.json`). Written by its supervisor while it runs; by other
 * processes only when they find the supervisor gone (see `reconcileState`).
 */
export interface ContainerState {
  status: ContainerStatus;
  /** Host pid of the container's init while running, else 0. */
  pid: number;
  /** The runc container id of the current or last run (the runtime picks a fresh one per start). */
  runcId?: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode: number;
  oomKilled: boolean;
  /** Why the container could not start or why its state is a guess. Empty when all is well. */
  error: string;
  restartCount: number;
  /** Names the start this state belongs to, so a client waiting on `start` ignores older states. */
  startId?: string;
  supervisor?: ProcessIdentity;
  /** On the bridge: the container's address, its gateway and the ports published, while it runs. */
  network?: { ipAddress: string; prefixLen: number; gateway: string; ports?: PortBinding[] };
}

export function initialState(): ContainerState {
  return { status: 'created', pid: 0, exitCode: 0, oomKilled: false, error: '', restartCount: 0 };
}
