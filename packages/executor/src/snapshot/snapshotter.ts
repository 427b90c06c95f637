/**
 * Snapshotter, in containerd's vocabulary.
 *
 * Glossary:
 * - snapshot dir: an unpacked layer in overlayfs format (whiteouts are 0/0 character devices,
 *   opaque dirs carry `trusted.overlay.opaque=y`), owned by the cache store. Immutable: it is
 *   only ever used as an overlay lowerdir.
 * - active snapshot: a writable view made by `prepare`: `rootfs` is the merged mount, `upper`
 *   receives every change. Active snapshots are never used as lowers; after `release` the
 *   caller diffs `upper` into a layer and may hand it to the store to become a snapshot dir.
 * - key: the caller's name for the active snapshot, recorded for diagnostics only.
 *
 * Lifecycle: `prepare` → run something in `rootfs` → `release` (unmount, drop work dir, keep
 * `upper`) → optionally adopt `upper` elsewhere → `discard` (remove whatever is left). Calling
 * `discard` without `release` also unmounts. Both are idempotent.
 *
 * Cleanup guarantees: a failed `prepare` leaves no mount and no directory behind; after
 * `release`/`discard` no mount remains under the state dir; state left by a killed process is
 * removed by `cleanupStale` on the next start.
 */
export interface Snapshotter {
  prepare(opts: PrepareOptions): Promise<ActiveSnapshot>;
}

export interface PrepareOptions {
  /** Snapshot dirs, top-most FIRST (like overlay's lowerdir). Empty for FROM scratch. */
  lowers: string[];
  key: string;
  /**
   * Nothing will write to it (a `COPY --from` source, a read-only `RUN --mount from=`): mounted
   * without an upper dir, so unmounting it does not sync the filesystem as unmounting an overlay
   * with an upper does (12-19 ms here when other writes are pending). `upper` stays empty.
   */
  readonly?: boolean;
}

/** A mounted, writable view over some lowers. See `Snapshotter` for the lifecycle. */
export interface ActiveSnapshot {
  readonly key: string;
  /** The merged mount: the container's root filesystem. Valid until `release`. */
  readonly rootfs: string;
  /** The overlay upper dir: every change made in `rootfs`, in overlayfs format. Kept by `release`. */
  readonly upper: string;
  readonly work: string;
  /** Unmounts and removes the work dir; `upper` stays for the differ and the store. */
  release(): Promise<void>;
  /** Unmounts (if still mounted) and removes everything, `upper` included. */
  discard(): Promise<void>;
}
