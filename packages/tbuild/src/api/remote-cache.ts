import { isUnsealed, type Store } from '@tbuild/cache';
import { isBuildError } from '@tbuild/errors';
import type { BuildEvent, StepOutcome, StepRecordLike, StorePort } from '@tbuild/executor';
import type { Plan, Step } from '@tbuild/planner';
import { redactText } from './cache/redact.ts';
import {
  exportCache,
  parseCacheExport,
  parseCacheImport,
  RemoteCache,
  withInlineCache,
  type CacheEntry,
  type CacheExportResult,
  type CacheExportSpec,
  type CacheImportSpec,
  type CacheLayer,
  type CacheMode,
  type RegistryClient,
  type RemoteHit,
} from '@tbuild/registry';

/**
 * The store as the scheduler sees it when `--cache-from` is given: a local miss falls back to
 * the remote caches (looked up by the key the local planner computed), and a remote hit's
 * layer is downloaded only when something needs its files (`ensureSnapshot`) or its blob
 * (`ensureBlob`, before the image is stored or exported). Everything else is the local store.
 */
export class RemoteBackedStore implements StorePort {
  /** Steps served by a remote cache in this build, by key. */
  readonly hits = new Map<string, RemoteHit>();

  constructor(
    readonly local: Store,
    readonly remote: RemoteCache,
  ) {}

  get root(): string {
    return this.local.root;
  }

  async getStep(key: string): Promise<StepRecordLike | undefined> {
    const rec = await this.local.getStep(key);
    if (rec) return rec;
    const hit = this.remote.lookup(key);
    if (!hit) return undefined;
    this.hits.set(key, hit);
    const now = new Date().toISOString();
    return { key, ...(hit.layer ? { layer: hit.layer } : {}), created: hit.record.created ?? now, lastUsed: now, hits: 0, size: hit.layer?.size ?? 0 };
  }

  putStep(rec: StepRecordLike): Promise<void> {
    return this.local.putStep(rec);
  }

  touchStep(key: string): Promise<void> {
    return this.local.touchStep(key);
  }

  adoptUnsealed(dir: string): ReturnType<Store['adoptUnsealed']> {
    return this.local.adoptUnsealed(dir);
  }

  sealStep(...args: Parameters<Store['sealStep']>): Promise<void> {
    return this.local.sealStep(...args);
  }

  async ensureSnapshot(layer: { digest: string; diffId: string; mediaType: string }): Promise<string> {
    if (!(await this.local.hasSnapshot(layer.diffId))) await this.ensureBlob(layer.digest);
    return this.local.ensureSnapshot(layer);
  }

  /**
   * Makes a layer blob local, downloading it from the remote cache that holds it when it is not.
   * A layer this build took from a remote record is verified against that record's diffID even
   * when the blob was already local; layers built here are never judged by a remote claim.
   */
  async ensureBlob(digest: string): Promise<void> {
    const taken = [...this.hits.values()].find((h) => h.layer?.digest === digest)?.layer;
    if (taken) return this.remote.fetchLayer(taken, this.local);
    if (await this.local.hasBlob(digest)) return;
    const layer = this.remote.layerOf(digest);
    if (layer) await this.remote.fetchLayer(layer, this.local);
  }

  /** ensureBlob for many layers, `concurrency` downloads at a time (registries rate-limit). */
  async ensureBlobs(digests: string[], concurrency: number): Promise<void> {
    const queue = [...new Set(digests)];
    const worker = async (): Promise<void> => {
      for (let d = queue.shift(); d !== undefined; d = queue.shift()) await this.ensureBlob(d);
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  }

  adoptSnapshot(diffId: string, dir: string, opts?: { removeAfter?: Promise<unknown> }): Promise<string> {
    return this.local.adoptSnapshot(diffId, dir, opts);
  }

  blobWriter(): ReturnType<StorePort['blobWriter']> {
    return this.local.blobWriter();
  }

  lease(digests: string[]): Promise<() => Promise<void>> {
    return this.local.lease(digests);
  }

  lock(name: string): Promise<() => Promise<void>> {
    return this.local.lock(name);
  }

  readMeta(name: string): Promise<Buffer | undefined> {
    return this.local.readMeta(name);
  }

  writeMeta(name: string, data: string): Promise<void> {
    return this.local.writeMeta(name, data);
  }

  readBlobRange(digest: string, offset: number, length: number): Promise<Buffer | undefined> {
    return this.local.readBlobRange(digest, offset, length);
  }

  takeSnapshot(diffId: string): Promise<string | undefined> {
    return this.local.takeSnapshot(diffId);
  }

  cacheMount(id: string): Promise<{ dir: string; created: boolean }> {
    return this.local.cacheMount(id);
  }

  /**
   * Records remote hits whose layer is now local (or that had none) as local steps, so the
   * next build on this machine hits without asking the remote. Hits nobody needed stay remote.
   */
  async materialize(plan: Plan, dockerfile: string): Promise<void> {
    const byKey = new Map(plan.steps.map((s) => [s.cacheKey, s]));
    const now = new Date().toISOString();
    for (const [key, hit] of this.hits) {
      if (hit.layer && !(await this.local.hasBlob(hit.layer.digest))) continue;
      const step = byKey.get(key);
      await this.local.putStep({
        key,
        ...(hit.layer ? { layer: hit.layer } : {}),
        keyInputs: step?.keyInputs,
        ...(step ? { source: { file: dockerfile, line: step.location.start.line, text: step.text, stage: hit.record.stage } } : {}),
        created: hit.record.created ?? now,
        lastUsed: now,
        hits: 1,
        size: hit.layer?.size ?? 0,
      });
    }
  }
}

/** Parses `--cache-from` values (strings or already parsed). */
export function importSpecs(values: Array<string | CacheImportSpec> = []): CacheImportSpec[] {
  return values.map((v) => (typeof v === 'string' ? parseCacheImport(v) : v));
}

/** Parses `--cache-to` values (strings or already parsed). */
export function exportSpecs(values: Array<string | CacheExportSpec> = []): CacheExportSpec[] {
  return values.map((v) => (typeof v === 'string' ? parseCacheExport(v) : v));
}

/** What an exporter learns of a step it did not run: its layer and when it first ran. */
export type RecordLookup = (key: string) => Promise<{ layer?: CacheLayer; created?: string } | undefined>;

/** Looks a key up in the local store, then in the remote caches of this build. */
export function recordLookup(store: Store, remote?: RemoteBackedStore): RecordLookup {
  return async (key) => {
    const local = await store.getStep(key);
    if (local) return { ...(local.layer ? { layer: local.layer } : {}), created: local.created };
    const hit = remote?.remote.lookup(key);
    return hit && { ...(hit.layer ? { layer: hit.layer } : {}), ...(hit.record.created ? { created: hit.record.created } : {}) };
  };
}

/** The steps whose results make up the target image: its chain back to the root image, across `FROM stage`. */
function targetChain(plan: Plan): Step[] {
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  const stage = plan.stages.find((s) => s.index === plan.target);
  if (!stage) throw new Error(`plan has no target stage ${plan.target}`);
  const chain: Step[] = [];
  for (let id = stage.steps.at(-1) ?? stage.parentStep; id !== undefined; id = byId.get(id)?.parent) chain.push(byId.get(id)!);
  return chain.reverse();
}

/**
 * The cache records to export for `mode`: `min` the target image's steps, `max` every step of
 * every stage. A step this build did not need (a later hit made it unnecessary) is exported
 * from the record that made it unnecessary to run, local or remote.
 */
export async function cacheEntries(
  plan: Plan,
  outcomes: StepOutcome[],
  mode: CacheMode,
  lookup: RecordLookup,
): Promise<CacheEntry[]> {
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  const stages = new Map(plan.stages.map((s) => [s.index, s]));
  const done = new Map(outcomes.map((o) => [o.id, o]));
  const steps = (mode === 'min' ? targetChain(plan) : plan.steps).filter((s) => s.kind !== 'config');
  const entries: CacheEntry[] = [];
  for (const step of steps) {
    const outcome = done.get(step.id);
    const rec = await lookup(step.cacheKey);
    if (!outcome && !rec) continue;
    const layer = outcome ? outcome.layer : rec?.layer;
    // A layer never sealed has no blob to send (a step an earlier build ran for another target).
    if (layer && isUnsealed(layer)) continue;
    const stage = stages.get(step.stage);
    entries.push({
      key: step.cacheKey,
      parent: step.parent ? byId.get(step.parent)?.cacheKey : stage?.baseKey,
      ...(layer ? { layer: { digest: layer.digest, diffId: layer.diffId, size: layer.size, mediaType: layer.mediaType } } : {}),
      ...(rec?.created ? { created: rec.created } : {}),
      stage: stage?.name ?? String(step.stage),
      line: step.location.start.line,
      // The cache may be read by anyone who can pull it: no secret-looking values in it.
      text: redactText(step.text.split('\n')[0]!.trim()),
    });
  }
  return entries;
}

/** The target image's records as an inline cache in its config (`--cache-to type=inline`). */
export async function inlineCacheConfig<T extends object>(config: T, plan: Plan, outcomes: StepOutcome[], lookup: RecordLookup): Promise<T> {
  return withInlineCache(config, await cacheEntries(plan, outcomes, 'min', lookup));
}

/** Runs every registry/local `--cache-to` export, reporting each as an `export` event. */
export async function exportCaches(
  specs: CacheExportSpec[],
  ctx: {
    plan: Plan;
    outcomes: StepOutcome[];
    store: Store;
    client: RegistryClient;
    remote?: RemoteBackedStore;
    emit: (e: BuildEvent) => void;
  },
): Promise<CacheExportResult[]> {
  const results: CacheExportResult[] = [];
  const lookup = recordLookup(ctx.store, ctx.remote);
  for (const spec of specs) {
    if (spec.type === 'inline') continue;
    const what = `cache to ${spec.type === 'registry' ? spec.ref : spec.dest} (mode=${spec.mode})`;
    ctx.emit({ type: 'export', time: Date.now(), status: 'start', what });
    const entries = await cacheEntries(ctx.plan, ctx.outcomes, spec.mode, lookup);
    let r: CacheExportResult;
    try {
      r = await exportCache(spec, entries, {
        client: ctx.client,
        store: ctx.store,
        ensureLocal: async (layer) => {
          await ctx.remote?.ensureBlob(layer.digest);
        },
      });
    } catch (e) {
      // ignore-error=true: a CI job whose cache could not be saved still delivered its image.
      if (!spec.ignoreError || !isBuildError(e)) throw e;
      ctx.emit({ type: 'warning', time: Date.now(), code: 'TB_CACHE_REMOTE_EXPORT', message: `${what} failed: ${e.message}` });
      continue;
    }
    results.push(r);
    ctx.emit({ type: 'export', time: Date.now(), status: 'done', what, detail: `${r.records} records, ${r.layers} layers: ${r.uploaded} uploaded, ${r.existing} already there` });
  }
  return results;
}
