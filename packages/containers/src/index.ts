export type { ContainerRecord, ContainerState, ContainerStatus, HostConfig, MountRecord } from './record.ts';
export type { ContainerErrorCode } from './errors.ts';
export { ContainerStore } from './container-store.ts';
export type { ContainerPaths } from './paths.ts';
export { createContainer } from './create.ts';
export type { CreateOptions } from './create.ts';
export type { ConfigOverrides } from './run-config.ts';
export { resolveContainerConfig, mergeEnv } from './run-config.ts';
export type { MountRequest } from './run-options.ts';
export { parseBytes, parseCpus, parseVolumeFlag, parseMountFlag, parseTmpfsFlag, parseEnvFile, normalizeSignal } from './run-options.ts';
export { hostAddress, parsePublish } from './ports.ts';
export type { PortBinding } from './ports.ts';
export {
  startContainer,
  stopContainer,
  killContainer,
  restartContainer,
  removeContainer,
  pruneContainers,
  waitContainer,
  containersUsingImage,
} from './lifecycle.ts';
export type { SupervisorLauncher, SuperviseTarget } from './lifecycle.ts';
export { superviseContainer } from './supervisor.ts';
export { attach, STDIN_TAG } from './attach-marker.ts';
export { connectAttach } from './attach-socket.ts';
export type { SuperviseOptions } from './supervisor.ts';
export { reconcileState } from './state.ts';
export { execInContainer } from './exec.ts';
export type { ExecOptions } from './exec.ts';
export { commitContainer } from './commit.ts';
export type { CommitOptions, CommitResult } from './commit.ts';
export { applyChanges } from './commit-changes.ts';
export { inspectContainer, listContainers, statusText } from './inspect.ts';
export type { ContainerSummary } from './inspect.ts';
export { LogWriter, readLogSnapshot, tailRecords, followLog, DEFAULT_ROTATION } from './log-file.ts';
export type { LogRecord, LogRotation, FollowOptions } from './log-file.ts';
export { volumeDataDir } from './volumes.ts';
