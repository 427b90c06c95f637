// Snapshotter (overlayfs)
export type { ActiveSnapshot, PrepareOptions, Snapshotter } from './snapshot/snapshotter.ts';
export { OverlaySnapshotter, cleanupStaleSnapshots } from './snapshot/overlay-snapshotter.ts';
export { isMountPoint, mount, unmount } from './snapshot/mountinfo.ts';
export { lockThroughHelper, useNativeSysHelper, useStartedSysHelper } from './snapshot/sys-helper.ts';
export { uniqueLowers } from './snapshot/lower-stack.ts';
export type { OverlaySnapshotterOptions } from './snapshot/overlay-snapshotter.ts';

// Container runtime (runc)
export { execFileAsync } from './exec-file.ts';
export type { ContainerRuntime, RunIO, RunLimits, RunMount, RunRequest, RunResult } from './runtime/container-runtime.ts';
export { RuncRuntime, cleanupStaleContainers } from './runtime/runc-runtime.ts';
export { warmCgroupAttach } from './runtime/cgroup-warmup.ts';
export { cleanupStale } from './runtime/cleanup-stale.ts';
export { killRuncProcessesUnder, runcPidsUnder } from './runtime/stray-processes.ts';
export { pidAlive } from './runtime/pid-alive.ts';
export { RecordingRuntime } from './runtime/recording-runtime.ts';
export type { RecordedRun } from './runtime/recording-runtime.ts';
export type { RuncRuntimeOptions } from './runtime/runc-runtime.ts';
export { resolveUser } from './runtime/resolve-user.ts';
export type { ResolvedUser } from './runtime/resolve-user.ts';
export { resolveInRoot, ConfinedPathError } from './runtime/confined-path.ts';
export { DEFAULT_CAPABILITIES, DEFAULT_HOSTNAME, DEFAULT_PATH, defaultHostsFile } from './runtime/oci-spec.ts';

// Layer differ
export { diffUpperToLayer, DEFAULT_GZIP_LEVEL } from './layer/diff-upper.ts';
export type { DiffOptions, LayerDiff, LayerSink } from './layer/diff-upper.ts';

// Scheduler: runs a plan's steps (RUN, COPY/ADD, WORKDIR) with caching and bounded concurrency
export * from './scheduler/index.ts';
export type { BuildEvent, BuildSummary, ProgressSink, StepRef } from './events.ts';

// RUN's default network: a bridge with NAT, namespaces pooled per build
export { BridgeNetwork, containerResolvConf, reapStaleNetworks } from './network/netns-pool.ts';
export type { NetnsLease, RunNetwork } from './network/netns-pool.ts';
export { bridgeFromEnv, DEFAULT_BRIDGE, ensureBridge } from './network/bridge.ts';
export type { BridgeConfig } from './network/bridge.ts';
export { loadSeccompProfile, missingSeccompWarning, SYSTEM_PROFILE as SECCOMP_SYSTEM_PROFILE } from './runtime/seccomp.ts';
