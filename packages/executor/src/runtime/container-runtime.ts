/**
 * Runs one process in a fresh container over a prepared root filesystem, the way a Dockerfile
 * RUN does, and reports how it ended.
 *
 * Contract:
 * - `run` resolves when the process has exited, with its exit code; a non-zero exit is a
 *   result, not an error (the scheduler turns it into TB_EXEC_NONZERO_EXIT with the RUN's
 *   location). It rejects with a `BuildError` when the container could not be set up
 *   (TB_EXEC_RUNTIME_*, TB_EXEC_WORKDIR_*), and with `TB_EXEC_CANCELLED` when `signal` aborts.
 * - Output is streamed to `io` as it is produced, never buffered whole.
 * - Cleanup is guaranteed: when `run` settles — success, failure, abort or timeout — the
 *   container is killed and deleted and its bundle dir removed. Nothing the runtime itself
 *   mounts (/proc, /dev, /etc/hosts…) or creates as a mount point stays in the rootfs.
 * - The runtime never executes anything from the rootfs on the host side.
 */
export interface ContainerRuntime {
  run(spec: RunRequest, io: RunIO, signal?: AbortSignal): Promise<RunResult>;
}

export interface RunIO {
  onStdout(buf: Buffer): void;
  onStderr(buf: Buffer): void;
  /**
   * Piped to the process's stdin (containers' `run -i`; builds never set it); its end is the
   * process's EOF. Without it the process's stdin is /dev/null (with `terminal`: a tty nobody types on).
   */
  stdin?: NodeJS.ReadableStream;
  /** With `terminal`: called once the terminal exists, with a function that resizes it. */
  onResizer?(resize: (rows: number, cols: number) => void): void;
}

export interface RunResult {
  exitCode: number;
  /** Set when the process died from a signal (exit code 128+n), e.g. `SIGKILL`. */
  signal?: string;
  /**
   * The memory limit was hit and the kernel killed the process. RuncRuntime does not detect
   * this yet (runc run removes the cgroup before its OOM counters can be read): an OOM shows
   * as `signal: 'SIGKILL'`.
   */
  oomKilled?: boolean;
  /** `limits.timeoutMs` passed and the container was killed. */
  timedOut?: boolean;
}

/** What to run and how the container looks. Everything is already resolved to numbers/paths. */
export interface RunRequest {
  /** Host path of the container's root filesystem (an active snapshot's merged mount). */
  rootfs: string;
  args: string[];
  /** `KEY=value` pairs; PATH is added with Docker's default when missing. */
  env: string[];
  /** Absolute path inside the container; created (owned by `user`) when missing. Never under /proc. */
  cwd: string;
  user: { uid: number; gid: number; additionalGids?: number[] };
  /** Default `buildkitsandbox`, BuildKit's hostname for build containers. */
  hostname?: string;
  /**
   * `none` (default, BuildKit's sandbox default is its own netns too): a fresh network namespace
   * with only `lo`. `host`: share the host's network namespace. `{ netns }`: join that
   * namespace (one on the bridge, `network/netns-pool.ts`).
   */
  network?: 'none' | 'host' | { netns: string };
  mounts?: RunMount[];
  readonlyRootfs?: boolean;
  /** Every capability, no seccomp filter, no masked paths, every device allowed (`RUN --security=insecure`). */
  privileged?: boolean;
  /** Contents for /etc/hosts and /etc/resolv.conf; defaults are generated. Never written into the rootfs. */
  hostsFile?: string;
  resolvConf?: string;
  limits?: RunLimits;
  /**
   * Give the process a pseudo-terminal of this size (containers' `run -t`; builds never set it):
   * stdout and stderr both arrive on `onStdout`, with the tty's `\r\n` line endings; an end of
   * `io.stdin` is sent as ^D (EOF for a reader in canonical mode).
   */
  terminal?: { rows: number; cols: number };
}

export type RunMount =
  | { type: 'bind'; source: string; target: string; readonly: boolean }
  | { type: 'tmpfs'; target: string; sizeBytes?: number; mode?: number };

export interface RunLimits {
  /** Kill the container after this long; the result has `timedOut: true`. */
  timeoutMs?: number;
  memoryBytes?: number;
  pids?: number;
  /** RLIMIT_NOFILE soft and hard limit; default 1048576 like BuildKit. */
  nofile?: number;
}
