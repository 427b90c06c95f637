import type { Diagnostic, SourceFile, SourceRange } from '@tbuild/errors';
import type { Dockerfile } from '@tbuild/parser';

/** An OCI platform. `variant` is absent (never empty) when the architecture has none. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** `config.Healthcheck` of an image; durations in nanoseconds, 0 or absent = the runtime's default. */
export interface HealthcheckConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** The `config` object of an OCI/Docker image config (the container defaults). */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  Healthcheck?: HealthcheckConfig;
  OnBuild?: string[] | null;
  Shell?: string[];
}

/** One `history[]` entry. The planner never sets `created`: it has no clock (the executor stamps it). */
export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/**
 * An OCI image config document, as a registry returns it and as tbuild writes it. Only
 * `architecture` and `os` are required so registry clients can pass parsed JSON as is.
 * In a plan, `rootfs.diff_ids` holds only the base image's layers: the executor appends the
 * layers it builds.
 */
export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  created?: string;
  author?: string;
  config?: ContainerConfig;
  rootfs?: { type: string; diff_ids: string[] };
  history?: HistoryEntry[];
}

/** A base image pinned for this build. */
export interface ResolvedImage {
  /** Normalized reference, e.g. `127.0.0.1:5000/base/busybox:1`. */
  ref: string;
  /** Manifest digest (`sha256:...`) of the platform-specific manifest: the root of every key built on it. */
  digest: string;
  config: ImageConfig;
}

/**
 * Resolves an image reference for a platform to a digest and config. Called once per distinct
 * (ref, platform) per plan. Throws a BuildError (code `TB_REGISTRY_*`) when the image or the
 * platform does not exist; the planner attaches the Dockerfile location.
 */
export interface ImageResolver {
  resolve(ref: string, platform: Platform): Promise<ResolvedImage>;
}

/**
 * What one COPY/ADD reads from the build context. The planner builds it from the instruction
 * (and for context bind mounts);
 * the same value is given to `BuildContext.hash` (cache key) and `BuildContext.select`
 * (executor), so what is hashed is exactly what is copied.
 */
export interface ContextSelection {
  /**
   * Sources relative to the context root after variable expansion; may contain Go
   * filepath.Match wildcards. Leading `/` and `..` never leave the root. With `parents`, a
   * `/./` pivot marks where the kept path starts, so do not clean sources before passing them.
   */
  sources: string[];
  /** `COPY --exclude` patterns, matched against paths relative to each copied source. */
  excludes: string[];
  /** `COPY --parents`: keep each match's path (below an optional `/./` pivot). */
  parents: boolean;
  /**
   * Dereference a source that is itself a symlink (inside the context). Default true, as
   * BuildKit's Dockerfile frontend does; symlinks found inside copied directories are always
   * copied as symlinks.
   */
  followSymlinks?: boolean;
}

/**
 * Hashes selections of the build context. Must be deterministic for identical file trees.
 * Throws a BuildError naming a source that matches nothing; the planner attaches the location.
 */
export interface ContextHasher {
  /** The cache-key input for `sel`: `sha256:<hex>` over its canonical listing (path, type, mode, owner, link target, content). */
  digest(sel: ContextSelection): Promise<string>;
}

/** Everything plan() needs; the two interfaces are its only I/O. */
export interface PlanInput {
  dockerfile: Dockerfile;
  file: SourceFile;
  buildArgs: Record<string, string>;
  /** Stage name (case-insensitive) or index; default: the last stage. */
  target?: string;
  platform: Platform;
  buildPlatform: Platform;
  /** `--label`: added to the target image's config (no history entry, like BuildKit). */
  labels?: Record<string, string>;
  noCache?: boolean;
  /** Stage names (or indexes) whose steps must not be served from cache. */
  noCacheFilter?: string[];
  resolver: ImageResolver;
  context: ContextHasher;
  /** Ids of the secrets the build provides (never values); used to check `required` secret mounts. */
  secrets?: string[];
  /**
   * `--allow`: what the Dockerfile may ask for beyond the sandbox, as BuildKit's entitlements:
   * `network.host` (`RUN --network=host`) and `security.insecure` (`RUN --security=insecure`).
   */
  entitlements?: string[];
  /** `--add-host`: extra /etc/hosts entries for RUN steps (`ip` may be `host-gateway`); part of their keys, as in BuildKit. */
  extraHosts?: ExtraHost[];
  /**
   * `--build-context NAME=VALUE` (names lower case): a directory, read like the main context, or an
   * image standing in for NAME. Either takes precedence over a stage or image of that name.
   */
  namedContexts?: Record<string, NamedContext>;
}

export type NamedContext = { kind: 'local'; context: ContextHasher } | { kind: 'image'; ref: string };

export interface ExtraHost {
  host: string;
  /** An address, or `host-gateway`: the address the build host has from the step's network. */
  ip: string;
}

/** Where a COPY, ADD or RUN mount reads files from. */
export type SourceRef =
  /** The build context, or with `name` a named one (`--build-context`). */
  | { kind: 'context'; name?: string }
  | { kind: 'stage'; stage: number }
  | { kind: 'image'; ref: string; digest: string };

export type StageBase =
  | { kind: 'image'; ref: string; digest: string; config: ImageConfig }
  | { kind: 'stage'; stage: number }
  | { kind: 'scratch' };

/** A file the builder writes itself (heredocs): never read from the context. */
export interface InlineFile {
  /** For COPY/ADD: the file name (the heredoc delimiter); for RUN: the absolute path it is mounted at. */
  path: string;
  content: string;
  mode: number;
}

export type RunMount =
  | { type: 'bind'; target: string; source: string; readonly: boolean; from: SourceRef }
  | {
      type: 'cache';
      target: string;
      /** Already namespaced-free id; defaults to the target path. */
      id: string;
      sharing: 'shared' | 'private' | 'locked';
      readonly: boolean;
      mode: number;
      uid: number;
      gid: number;
      from?: SourceRef;
      source?: string;
    }
  | { type: 'tmpfs'; target: string; size?: number }
  | {
      type: 'secret';
      id: string;
      /** Absent when the secret is exposed only as `env`. */
      target?: string;
      env?: string;
      required: boolean;
      mode: number;
      uid: number;
      gid: number;
    }
  | { type: 'ssh'; id: string; target: string; required: boolean; mode: number; uid: number; gid: number };

export interface RunSpec {
  kind: 'run';
  /** Final argv: SHELL prefix applied for the shell form. */
  args: string[];
  form: 'shell' | 'exec';
  /** `K=V`, the stage env: image ENV, stage ENV and ARGs declared so far (later wins). */
  env: string[];
  /** Undeclared proxy build args (`HTTP_PROXY`...): given to the process, never in keys or history. */
  proxyEnv: string[];
  /** `user[:group]` as in the config; empty = the image default (root). */
  user: string;
  workdir: string;
  network: 'default' | 'none' | 'host';
  security: 'sandbox' | 'insecure';
  mounts: RunMount[];
  /** Heredoc scripts with a shebang, mounted read-only at `path` and executed. */
  files: InlineFile[];
  /** `--add-host` entries, when the build has any. */
  extraHosts?: ExtraHost[];
}

export interface CopySpec {
  kind: 'copy' | 'add';
  /** Expanded source paths (context-relative, stage paths, or URLs for ADD). */
  sources: string[];
  /** ADD only: http(s) and git sources, in `sources` order. */
  urls: string[];
  /** Heredoc sources, written as files named after their delimiter. */
  inline: InlineFile[];
  /** Absolute, resolved against WORKDIR; a trailing `/` is kept (it means "into this dir"). */
  dest: string;
  from: SourceRef;
  chown?: string;
  chmod?: string;
  /** False when `--chmod` is also set: BuildKit silently drops `--link` then. */
  link: boolean;
  parents: boolean;
  excludes: string[];
  checksum?: string;
  keepGitDir?: boolean;
  /** `--unpack`; undefined = the default (local archives unpacked, URLs not). */
  unpack?: boolean;
  /** For context sources: exactly the selection that was hashed; select with it so what is copied is what was keyed. */
  context?: ContextSelection;
}

export interface WorkdirSpec {
  kind: 'workdir';
  path: string;
  /** Owner of the created directories (the current USER), empty = root. */
  user: string;
  /** False for `WORKDIR /`: nothing to create, no layer. */
  mkdir: boolean;
}

export interface ConfigSpec {
  kind: 'config';
  /** The instruction keyword that changed the config. */
  instruction: string;
}

export type StepSpec = RunSpec | CopySpec | WorkdirSpec | ConfigSpec;

export type StepKind = 'run' | 'copy' | 'add' | 'workdir' | 'config';

/** A cross-stage (or image) input of a step. */
export interface StepDep {
  stage: number;
  /** The last step of that stage, absent when the stage has no steps (its base is read). */
  step?: string;
}

/** One node of the build graph. The executor can run it from `spec` alone (plus its parent's rootfs). */
export interface Step {
  id: string;
  stage: number;
  kind: StepKind;
  /** The step whose rootfs this one starts from: the previous step, or the last step of the base stage chain; absent = the stage root (image or scratch). */
  parent?: string;
  deps: StepDep[];
  location: SourceRange;
  text: string;
  cacheKey: string;
  /** The canonical pre-image of `cacheKey` (no secret values ever enter it). */
  keyInputs: unknown;
  noCache: boolean;
  spec: StepSpec;
  /** History entry this step appends, if any (ONBUILD appends none). */
  history?: HistoryEntry;
  /**
   * The container config (`config` of the image config) after this step. The image-level
   * document (history, rootfs) is on the stage; it is not repeated per step, so a plan stays
   * linear in size with the number of instructions.
   */
  config: ContainerConfig;
}

export interface PlannedStage {
  index: number;
  name?: string;
  platform: Platform;
  base: StageBase;
  /** Image or scratch at the bottom of the base chain: what `parent`-less steps start from. */
  root: Exclude<StageBase, { kind: 'stage' }>;
  /** Last step of the base stage chain, if any: the first step's parent. */
  parentStep?: string;
  /** Key of the stage's starting state (root key or the base stage's final key). */
  baseKey: string;
  /** Key of the stage's final state (last step key, or baseKey). */
  finalKey: string;
  steps: string[];
  location: SourceRange;
  /** The image this stage produces. */
  config: ImageConfig;
}

/** The build graph: plain, serialisable data. */
export interface Plan {
  /** Only the stages the target needs, dependency order. */
  stages: PlannedStage[];
  /** Topological order. */
  steps: Step[];
  /** Index (in the Dockerfile) of the target stage. */
  target: number;
  warnings: Diagnostic[];
}
