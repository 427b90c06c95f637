import type { Diagnostic } from '@tbuild/errors';
import type { ExtraHost, Plan } from '@tbuild/planner';
import { BuildContext, IgnoreMatcher } from '@tbuild/context';
import type { Store } from '@tbuild/cache';
import { getImage, putImage, tagImage, normalizeRef, RemoteCache, type CacheExportResult, type CacheExportSpec, type CacheImportSpec } from '@tbuild/registry';
import { BridgeNetwork, missingSeccompWarning, runPlan, type BuildEvent, type StepOutcome, type BuildSummary, type ExecutorDeps } from '@tbuild/executor';
import { exportOutputs, parseOutputs, type OutputSpec } from './outputs.ts';
import { executorState } from './machinery.ts';
import { prepareBuild } from './prepare.ts';
import { buildCacheHooks } from './cache/build-hooks.ts';
import type { WhyReport } from './cache/why.ts';
import { exportCaches, exportSpecs, importSpecs, inlineCacheConfig, recordLookup, RemoteBackedStore } from './remote-cache.ts';
import { defaultJobs } from './jobs.ts';

export interface SecretSource {
  id: string;
  /** Read the value from this file... */
  src?: string;
  /** ...or from this environment variable. */
  env?: string;
}

/** Everything `tbuild build` takes, as data; the CLI only turns flags into this. */
export interface BuildOptions {
  /** Build context directory. */
  context: string;
  /** Dockerfile path (default `<context>/Dockerfile`); ignored when `dockerfileText` is given. */
  dockerfile?: string;
  /** Dockerfile contents (for `-f -`). */
  dockerfileText?: string;
  tags?: string[];
  buildArgs?: Record<string, string>;
  target?: string;
  noCache?: boolean;
  noCacheFilter?: string[];
  labels?: Record<string, string>;
  /** `os/arch[/variant]`; only the host platform can be built for now. */
  platform?: string;
  /**
   * RUN steps' network. `default`: the `tbuild0` bridge with NAT, as dockerd's bridge for
   * BuildKit (outbound access, not the host's loopback); `none`: loopback only; `host`: the host's.
   */
  network?: 'default' | 'none' | 'host';
  secrets?: SecretSource[];
  /** `--allow`: entitlements RUN steps may use (`network.host`, `security.insecure`); `network: 'host'` grants network.host. */
  allow?: string[];
  /** `--build-context NAME=VALUE`: a directory, or `docker-image://REF` standing in for NAME. */
  buildContexts?: Record<string, string>;
  /** `--add-host host:ip`: extra /etc/hosts entries for RUN steps; `ip` may be `host-gateway`. */
  addHosts?: ExtraHost[];
  /** `--ssh id=socket`; `default` uses $SSH_AUTH_SOCK. */
  ssh?: Array<{ id: string; socket: string }>;
  /** `--output` values (`type=docker,dest=out.tar`...). Default: the image goes into the store. */
  outputs?: Array<string | OutputSpec>;
  push?: boolean;
  /** `--cache-from`: shared caches to take hits from (`type=registry,ref=...` or `type=local,src=DIR`). */
  cacheFrom?: Array<string | CacheImportSpec>;
  /** `--cache-to`: where to export this build's cache (`type=registry|local|inline`, `mode=min|max`). */
  cacheTo?: Array<string | CacheExportSpec>;
  /** Store directory. */
  root: string;
  /** Reuse an already open store (bake shares one between targets). */
  store?: Store;
  /** Reuse a build context (bake hashes a shared context once). */
  buildContext?: BuildContext;
  /** Shared between builds running at once in this process (bake): the step limiter and in-flight steps. */
  shared?: ExecutorDeps['shared'];
  jobs?: number;
  pull?: 'missing' | 'always' | 'never';
  insecureRegistries?: string[];
  runtime?: string;
  sourceDateEpoch?: number;
  onEvent?: (e: BuildEvent) => void;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Where relative paths in messages are shown from (default: this process's cwd). */
  cwd?: string;
  /** `build --explain`: called with why each step will (not) hit, before anything runs. */
  explain?: (report: WhyReport) => void;
}

export interface BuildResult {
  /** Image ID: the config digest, as docker shows it. */
  imageId: string;
  /** Manifest digest: what a registry knows the image by. */
  digest: string;
  tags: string[];
  steps: StepOutcome[];
  summary: BuildSummary;
  warnings: Diagnostic[];
  durationMs: number;
  plan: Plan;
  /** One per registry/local `--cache-to`. */
  cacheExports: CacheExportResult[];
}

/** Reads the Dockerfile, plans and runs the build, stores the image and exports it. */
export async function build(opts: BuildOptions): Promise<BuildResult> {
  const started = Date.now();
  const env = opts.env ?? process.env;
  // Bad --cache-from/--cache-to values fail before any work.
  const cacheFrom = importSpecs(opts.cacheFrom);
  const cacheTo = exportSpecs(opts.cacheTo);
  const prepared = await prepareBuild(opts);
  const { store, client, context, contextDir, namedContexts, file, plan } = prepared;
  const cacheHooks = await buildCacheHooks(prepared, { since: started, stdin: opts.dockerfileText !== undefined, onExplain: opts.explain });
  const shownPath = file.path;
  const emit = opts.onEvent ?? (() => {});
  for (const w of plan.warnings) emit({ type: 'warning', time: Date.now(), code: w.code, message: w.message, line: w.location?.range.start.line });
  const noSeccomp = plan.steps.some((s) => s.spec.kind === 'run') ? missingSeccompWarning(process.env) : undefined;
  if (noSeccomp) emit({ type: 'warning', time: Date.now(), code: 'TB_EXEC_NO_SECCOMP', message: noSeccomp });

  const warn = (message: string): void => emit({ type: 'warning', time: Date.now(), code: 'TB_CACHE_REMOTE_UNUSED', message });
  const onDownload = (layer: { digest: string }, source: string): void =>
    emit({ type: 'pull', time: Date.now(), ref: `cache layer ${layer.digest.slice(0, 19)} from ${source}`, status: 'done' });
  const remote = cacheFrom.length ? new RemoteBackedStore(store, await RemoteCache.open(cacheFrom, { client, onWarning: warn, onDownload })) : undefined;
  const state = await executorState(store, opts.runtime);
  const network = opts.network === 'host' || opts.network === 'none' ? opts.network : 'bridge';
  const bridge =
    network === 'bridge'
      ? new BridgeNetwork({ onUnavailable: (e) => emit({ type: 'warning', time: Date.now(), code: e.diagnostics[0]!.code, message: `${e.diagnostics[0]!.message}; RUN steps run with no network` }) })
      : undefined;
  try {
    const result = await runPlan(
      plan,
      {
        store: remote ?? store,
        context: {
          root: contextDir,
          select: (sel) => context.select(sel),
          fileDigests: async (sel) => new Map((await context.hash(sel)).files.map((f) => [f.path, f.digest])),
        },
        namedContexts: new Map([...namedContexts].map(([n, c]) => [n, { root: c.root, select: (sel) => c.select(sel) }])),
        openRoot: async (dir) => {
          const c = await BuildContext.open(dir, { ignore: new IgnoreMatcher([]) });
          return { select: (sel) => c.select(sel) };
        },
        imageLayers: async (digest) => {
          const img = await getImage(store, digest);
          return img.manifest.layers.map((l, i) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType, diffId: img.config.rootfs.diff_ids[i]! }));
        },
        stateDir: state.stateDir,
        jobs: opts.jobs ?? defaultJobs(),
        onEvent: emit,
        signal: opts.signal,
        secrets: new Map((opts.secrets ?? []).map((s) => [s.id, { file: s.src, value: s.src === undefined ? env[s.env ?? s.id] : undefined }])),
        ssh: new Map((opts.ssh ?? []).map((s) => [s.id, s.socket])),
        sourceDateEpoch: opts.sourceDateEpoch ?? (env.SOURCE_DATE_EPOCH ? Number(env.SOURCE_DATE_EPOCH) : undefined),
        network,
        bridge,
        dockerfile: shownPath,
        explain: cacheHooks.explain,
        pinHit: cacheHooks.pinHit,
        shared: opts.shared,
        // A cache export needs every step's blob; without one, other stages' layers stay unsealed.
        lazyBlobs: cacheTo.length === 0,
      },
      { runtime: state.runtime, snapshotter: state.snapshotter, file },
    );

    // Remote hits nobody had to unpack are downloaded now, as blobs only: the image needs them.
    await remote?.ensureBlobs(
      result.target.layers.map((l) => l.digest),
      client.concurrency,
    );
    const inline = cacheTo.some((c) => c.type === 'inline');
    const config = inline ? await inlineCacheConfig(result.target.config, plan, result.steps, recordLookup(store, remote)) : result.target.config;
    const stored = await putImage(store, {
      config: config as never,
      layers: result.target.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    });
    const tags = (opts.tags ?? []).map((t) => normalizeRef(t));
    for (const t of tags) await tagImage(store, stored.manifestDigest, t);
    const outputs = parseOutputs(opts.outputs ?? [], { push: opts.push ?? false });
    await exportOutputs(outputs, { store, client, manifestDigest: stored.manifestDigest, tags, emit, layers: result.target.layers, scratch: state.stateDir });
    await remote?.materialize(plan, shownPath);
    const cacheExports = await exportCaches(cacheTo, { plan, outcomes: result.steps, store, client, remote, emit });
    return {
      imageId: stored.configDigest,
      digest: stored.manifestDigest,
      tags,
      steps: result.steps,
      summary: result.summary,
      warnings: plan.warnings,
      durationMs: Date.now() - started,
      plan,
      cacheExports,
    };
  } finally {
    // The blobs this build wrote count as verified for the builds after it (one synced write).
    await store.saveVerifications().catch(() => undefined);
    await cacheHooks.release();
    await bridge?.close();
    await state.close();
    // Saves the stat cache without entries for deleted files (bake's shared context closes itself).
    if (!opts.buildContext) await context.close();
    for (const c of namedContexts.values()) await c.close();
  }
}
