import type { StepRecord } from '@tbuild/cache';
import type { ContextSelection, Step } from '@tbuild/planner';
import type { ProgressSink } from '../events.ts';
import type { RunNetwork } from '../network/netns-pool.ts';

/** A layer of an image or a step: the compressed blob and the uncompressed tar's digest. */
export interface LayerRef {
  digest: string;
  diffId: string;
  size: number;
  mediaType: string;
}

/** What the scheduler needs of the store (implemented by `@tbuild/cache`'s Store). */
export interface StorePort {
  readonly root: string;
  getStep(key: string): Promise<StepRecordLike | undefined>;
  putStep(rec: StepRecordLike): Promise<void>;
  touchStep(key: string): Promise<void>;
  ensureSnapshot(layer: { digest: string; diffId: string; mediaType: string }): Promise<string>;
  adoptSnapshot(diffId: string, dir: string, opts?: { removeAfter?: Promise<unknown> }): Promise<string>;
  blobWriter(): { write(chunk: Uint8Array): Promise<void>; writev?(chunks: readonly Uint8Array[]): Promise<void>; commit(expected?: { digest?: string; size?: number }): Promise<{ digest: string; size: number }>; abort(): Promise<void> };
  lease(digests: string[]): Promise<() => Promise<void>>;
  lock(name: string): Promise<() => Promise<void>>;
  /** The persistent directory of a `RUN --mount=type=cache` id; `created` when it did not exist before. */
  cacheMount(id: string): Promise<{ dir: string; created: boolean }>;
  /** Small notes (copy-donor.ts); a store without them only loses that shortcut. */
  readMeta?(name: string): Promise<Buffer | undefined>;
  writeMeta?(name: string, data: string): Promise<void>;
  /** Bytes of a blob, unverified (Store.readBlobRange); a store without it only loses reusing gzip members. */
  readBlobRange?(digest: string, offset: number, length: number): Promise<Buffer | undefined>;
  /** Hands the snapshot of `diffId` over to be emptied, if nothing may be using it (Store.takeSnapshot). */
  takeSnapshot?(diffId: string): Promise<string | undefined>;
  /** Stores an upper dir as the snapshot of a new unsealed layer, with no blob yet (Store.adoptUnsealed). */
  adoptUnsealed?(dir: string): Promise<LayerRef>;
  /** Replaces a record's unsealed layer by the sealed one, or by none for an empty diff (Store.sealStep). */
  sealStep?(key: string, unsealed: { diffId: string }, sealed: LayerRef | undefined): Promise<void>;
}

/** The store's step record (the scheduler writes `explain` and `keyInputs` for `cache why`). */
export type StepRecordLike = StepRecord;

/** A file a selection yields, from the build context or a stage/image root. */
export interface SelectedFileLike {
  absPath: string;
  relPath: string;
  destRel: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  linkTarget?: string;
  /** Named or matched by a source itself, not found inside a directory source (ADD unpacks only these). */
  direct?: true;
}

export interface FileSelector {
  select(sel: ContextSelection): Promise<SelectedFileLike[]>;
}

/** How the scheduler reaches everything outside itself; the composition root (tbuild's API) fills it in. */
export interface ExecutorDeps {
  store: StorePort;
  /** Selects files from the build context (the same logic that hashed them for the keys). */
  context: FileSelector & {
    readonly root: string;
    /** Per-file digests (content, mode, owner) of a selection, by path relative to the context. */
    fileDigests?(sel: ContextSelection): Promise<Map<string, string>>;
  };
  /** `--build-context` directories by name (lower case), read as the main context is. */
  namedContexts?: Map<string, FileSelector & { readonly root: string }>;
  /** Opens a selector over another root (a stage's or image's filesystem), with no ignore rules. */
  openRoot(dir: string): Promise<FileSelector>;
  /** The layers of a base image already in the store, bottom first. */
  imageLayers(manifestDigest: string): Promise<LayerRef[]>;
  /** Scratch space for mounts, bundles and upper dirs of this build. */
  stateDir: string;
  /** Bound on steps executing at once (RUN containers, COPY writers). */
  jobs: number;
  onEvent?: ProgressSink;
  signal?: AbortSignal;
  /**
   * `--secret id=...`: a file to read each secret from, or its value (the caller reads environment
   * variables: a build server's own environment is not the user's). Values never enter keys, layers or logs.
   */
  secrets?: Map<string, { file?: string; value?: string }>;
  /** `--ssh default=...`: agent sockets by id. */
  ssh?: Map<string, string>;
  /** Clamp layer mtimes and history timestamps for reproducible digests. */
  sourceDateEpoch?: number;
  /** Default network for RUN when a step says `default` (`bridge` needs `bridge` below). */
  network?: 'none' | 'host' | 'bridge';
  /** Namespaces on the bridge network for RUN steps whose network is `bridge`. */
  bridge?: RunNetwork;
  /**
   * Shared between builds in one process (bake): one bound on concurrent steps for all of them,
   * and identical steps (same cache key) run once while the others wait for its record.
   */
  shared?: { limit: <T>(fn: () => Promise<T>) => Promise<T>; inflight: Map<string, Promise<unknown>> };
  /**
   * Pins a cache hit's layer against a concurrent prune before the step uses it: true when it was
   * pinned already, false when pinned just now (the record is then looked up again, and a layer
   * removed in between makes the step a miss). Without it, hits are used as they are.
   */
  pinHit?(layer: { digest: string; diffId: string }): Promise<boolean>;
  /**
   * Leave the layers of steps the target image does not contain unsealed: their snapshots are
   * stored, their blobs made only if an image or a cache export needs them later (as BuildKit
   * does). Off, every layer gets its blob as its step ends, and unsealed hits are sealed.
   */
  lazyBlobs?: boolean;
  /** Extra data recorded with a step's cache entry for `tbuild cache why` (opaque to the executor). */
  explain?: (step: Step) => Promise<unknown>;
  /** Dockerfile path as the user named it, recorded with each cache entry. */
  dockerfile?: string;
  /** Clock for events and history (injected so tests are deterministic). */
  now?: () => number;
}
