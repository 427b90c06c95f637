import pLimit from 'p-limit';
import { isUnsealed } from '@tbuild/cache';
import { BuildError, isBuildError } from '@tbuild/errors';
import type { ImageConfig, Plan, PlannedStage, Step } from '@tbuild/planner';
import type { BuildEvent, BuildSummary, StepRef } from '../events.ts';
import { assembleImageConfig, stageChain } from './image-config.ts';
import { earlyChain, finalChain, type EarlyView, type ParentChain } from './parent-chain.ts';
import type { ExecutorDeps, LayerRef, StepRecordLike } from './ports.ts';

/**
 * Runs one step that missed the cache on top of its parent's layers; returns its layer (none for
 * an empty diff). The parent's top layers may still be being written (parent-chain.ts).
 */
export type StepRunner = (step: Step, parent: ParentChain, ctx: StepRunContext) => Promise<LayerRef | undefined>;

export interface StepRunContext {
  ref: StepRef;
  signal: AbortSignal;
  emit: (e: BuildEvent) => void;
  /** The full layer chain of another step or stage this one reads (COPY --from, RUN --mount from=). */
  layersOf(dep: { stage: number; step?: string }): Promise<LayerRef[]>;
  /** False when the step's layer may stay unsealed (ExecutorDeps.lazyBlobs): its blob is not made now. */
  seal: boolean;
  /** Offers the step's upper dir to the next step of its stage while its layer is written (layer-builder's buildLayer). */
  early?: (view: EarlyView) => void;
}

/** Makes the blob of an unsealed layer over its parents' layers (layer-builder's sealLayer); undefined for an empty diff. */
export type LayerSealer = (parentLayers: LayerRef[], layer: LayerRef) => Promise<LayerRef | undefined>;

export interface StageOutput {
  stage: number;
  config: ImageConfig;
  layers: LayerRef[];
}

export interface StepOutcome {
  id: string;
  cached: boolean;
  durationMs: number;
  layer?: LayerRef;
}

export interface ExecuteResult {
  target: StageOutput;
  steps: StepOutcome[];
  summary: BuildSummary;
}

interface ChainState {
  /** The layers to mount: an unsealed hit stays in them after it was sealed, its snapshot being there. */
  layers: LayerRef[];
  /** The step's layer as its image has it: sealed where the image needs it. */
  layer?: LayerRef;
  /**
   * When this state was first built: the cache record's time on a hit. Image history uses it,
   * so a rebuild served from the cache yields the very same image ID, as with BuildKit.
   */
  created: string;
}

/**
 * Walks the plan from the target's chain: each step waits for its parent, a cache hit is taken
 * without starting anything (and without building the other stages the step reads), and a
 * miss waits for its cross-stage inputs, then runs through `runStep` with at most `jobs` at a
 * time. Independent stages therefore build in parallel, and a stage only a hit reads is never
 * built. The first failure aborts the rest, and that failure is what this throws.
 */
export async function executePlan(plan: Plan, deps: ExecutorDeps, runStep: StepRunner, sealLayer?: LayerSealer): Promise<ExecuteResult> {
  const now = deps.now ?? Date.now;
  const emit = (e: BuildEvent): void => deps.onEvent?.(e);
  const ownLimit = pLimit(Math.max(1, deps.jobs));
  const limit = deps.shared?.limit ?? (<T>(fn: () => Promise<T>): Promise<T> => ownLimit(fn));
  const abort = new AbortController();
  const onOuterAbort = (): void => abort.abort(deps.signal?.reason);
  deps.signal?.addEventListener('abort', onOuterAbort, { once: true });

  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  const stages = new Map(plan.stages.map((s) => [s.index, s]));
  const targetStage = stages.get(plan.target);
  // The target image's steps get their blobs as they end; the others' layers may stay unsealed.
  const imageSteps = new Set(targetStage ? stageChain(plan, targetStage).map((s) => s.id) : []);
  const lazy = deps.lazyBlobs === true && deps.store.adoptUnsealed !== undefined && sealLayer !== undefined;
  const mustSeal = (step: Step): boolean => !lazy || imageSteps.has(step.id);
  const refs = stepRefs(plan);
  const states = new Map<string, Promise<ChainState>>();
  // What a step's child builds on: the step's early view as soon as it offers one, else its layers.
  const chains = new Map<string, Promise<ParentChain>>();
  const offered = new Map<string, (chain: ParentChain) => void>();
  const views: EarlyView[] = [];
  const rootLayerCache = new Map<string, Promise<LayerRef[]>>();
  const outcomes: StepOutcome[] = [];
  const summary: BuildSummary = { steps: 0, cached: 0, executed: 0, layersWritten: 0, bytesWritten: 0 };
  let firstError: unknown;
  // Hits are recorded (hits, lastUsed) once the build is done, all in one tick, so the store
  // journals them in one append: touched as they came, a warm 9-stage build made ~6 appends.
  const hitKeys: string[] = [];
  // Step records are written off the critical path too: the next step needs the layer, not
  // the record (the build's lease keeps the layer from gc meanwhile). Awaited before the build
  // ends, also when it fails, so every finished step stays cached.
  const records: Promise<void>[] = [];
  const recordOf = new Map<string, Promise<void>>();
  const touch = (key: string): void => void hitKeys.push(key);
  const recordHits = (): Promise<unknown> => Promise.allSettled(hitKeys.map((k) => deps.store.touchStep(k)));

  // SOURCE_DATE_EPOCH pins every timestamp, for reproducible image IDs.
  const stamp = (): string => new Date(deps.sourceDateEpoch !== undefined ? deps.sourceDateEpoch * 1000 : now()).toISOString();
  const rootCreated = (stage: PlannedStage): string =>
    deps.sourceDateEpoch !== undefined ? stamp() : stage.root.kind === 'image' && stage.root.config.created ? stage.root.config.created : new Date(0).toISOString();

  const rootLayers = (stage: PlannedStage): Promise<LayerRef[]> => {
    if (stage.root.kind === 'scratch') return Promise.resolve([]);
    const digest = stage.root.digest;
    let p = rootLayerCache.get(digest);
    if (!p) rootLayerCache.set(digest, (p = deps.imageLayers(digest)));
    return p;
  };

  const stageLayers = async (index: number): Promise<LayerRef[]> => {
    const stage = stages.get(index);
    if (!stage) throw new Error(`plan has no stage ${index}`);
    const last = stage.steps.length ? stage.steps[stage.steps.length - 1] : stage.parentStep;
    return last ? (await state(last)).layers : rootLayers(stage);
  };

  const layersOf = (dep: { stage: number; step?: string }): Promise<LayerRef[]> =>
    dep.step ? state(dep.step).then((s) => s.layers) : stageLayers(dep.stage);

  const state = (id: string): Promise<ChainState> => {
    let p = states.get(id);
    if (!p) {
      p = computeState(id);
      // Failures surface through the step that owns them; siblings awaiting it see the same rejection.
      p.catch(() => undefined);
      states.set(id, p);
    }
    return p;
  };

  // A config step changes no files: its child builds on what its parent builds on.
  const chainOf = (id: string): Promise<ParentChain> => {
    const step = byId.get(id);
    if (step?.kind === 'config') return step.parent ? chainOf(step.parent) : rootLayers(stages.get(step.stage)!).then(finalChain);
    let p = chains.get(id);
    if (!p) {
      p = new Promise<ParentChain>((resolve) => {
        offered.set(id, resolve);
        const layers = state(id).then((s) => s.layers);
        layers.then(
          () => resolve(finalChain(layers)),
          () => resolve(finalChain(layers)),
        );
      });
      chains.set(id, p);
    }
    return p;
  };

  const computeState = async (id: string): Promise<ChainState> => {
    const step = byId.get(id);
    if (!step) throw new Error(`plan has no step ${id}`);
    const stage = stages.get(step.stage)!;
    // Keys are known before anything runs, so a step is looked up before what it reads from other
    // stages is built: a hit needs only its parent chain, and the stages behind it are never
    // built (or downloaded from a remote cache). A miss starts them right away, in parallel.
    const early = step.kind === 'config' || step.noCache ? undefined : deps.store.getStep(step.cacheKey);
    const depsReady = (early ?? Promise.resolve(undefined)).then((hit) => (hit ? undefined : Promise.all(step.deps.map((d) => layersOf(d)))));
    depsReady.catch(() => undefined);
    if (step.kind === 'config') {
      const parent = step.parent ? await state(step.parent) : { layers: await rootLayers(stage), created: rootCreated(stage) };
      return { layers: parent.layers, created: parent.created };
    }
    const parentChain = step.parent ? await chainOf(step.parent) : finalChain(rootLayers(stage));
    await depsReady;
    summary.steps++;
    // Another build in this process (bake) may be running this very step: wait for it, then
    // take its record as a hit. The claim is taken synchronously so two builds cannot both miss.
    let release: (() => void) | undefined;
    if (!step.noCache && deps.shared) {
      const running = deps.shared.inflight.get(step.cacheKey);
      if (running) await running.catch(() => undefined);
      else {
        const claim = new Promise<void>((r) => (release = r));
        deps.shared.inflight.set(step.cacheKey, claim);
        void claim.then(() => deps.shared?.inflight.delete(step.cacheKey));
      }
    }
    try {
      return await lookupOrRun(step, parentChain);
    } finally {
      // Held until the step's record is written: the waiting build then finds it as a hit.
      if (release) void (recordOf.get(step.id) ?? Promise.resolve()).catch(() => undefined).then(release);
    }
  };

  const lookupOrRun = async (step: Step, parentChain: ParentChain): Promise<ChainState> => {
    const id = step.id;
    const ref = refs.get(id)!;
    if (!step.noCache) {
      let hit = await deps.store.getStep(step.cacheKey);
      // Pinned just now: look again, a prune may have removed it first (then this is a miss).
      for (let i = 0; i < 3 && hit?.layer && deps.pinHit && !(await deps.pinHit(hit.layer)); i++) hit = await deps.store.getStep(step.cacheKey);
      if (hit) {
        const parentLayers = await parentChain.layers;
        touch(step.cacheKey);
        const layer = hit.layer && isUnsealed(hit.layer) && mustSeal(step) ? await seal(step, parentLayers, hit.layer) : hit.layer;
        summary.cached++;
        emit({ type: 'step-cached', time: now(), step: ref });
        outcomes.push({ id, cached: true, durationMs: 0, layer });
        return { layers: hit.layer ? [...parentLayers, hit.layer] : parentLayers, layer, created: hit.created };
      }
    }
    // Inputs are ready before a slot is taken: a step waiting for another stage must not hold one.
    await Promise.all(step.deps.map((d) => layersOf(d)));
    return limit(async () => {
      if (abort.signal.aborted) throw abort.signal.reason ?? new Error('build aborted');
      const started = now();
      emit({ type: 'step-start', time: started, step: ref });
      try {
        const offer = (view: EarlyView): void => {
          views.push(view);
          const chain = earlyChain(view, parentChain, state(id).then((s) => s.layers));
          const take = offered.get(id);
          if (take) take(chain);
          else chains.set(id, Promise.resolve(chain));
        };
        const layer = await runStep(step, parentChain, { ref, signal: abort.signal, emit, layersOf, seal: mustSeal(step), early: offer });
        const parentLayers = await parentChain.layers;
        const created = stamp();
        const record = (async () =>
          deps.store.putStep({
            key: step.cacheKey,
            layer,
            keyInputs: step.keyInputs,
            source: { file: deps.dockerfile ?? 'Dockerfile', line: step.location.start.line, text: step.text, stage: ref.stage },
            explain: await deps.explain?.(step),
            created,
            lastUsed: new Date(now()).toISOString(),
            hits: 0,
            size: layer?.size ?? 0,
          }))();
        record.catch(() => undefined);
        records.push(record);
        recordOf.set(id, record);
        const durationMs = now() - started;
        summary.executed++;
        // An unsealed layer is a snapshot only: no layer was written.
        if (layer && !isUnsealed(layer)) {
          summary.layersWritten++;
          summary.bytesWritten += layer.size;
        }
        emit({ type: 'step-done', time: now(), step: ref, durationMs, layer: layer && { digest: layer.digest, size: layer.size } });
        outcomes.push({ id, cached: false, durationMs, layer });
        return { layers: layer ? [...parentLayers, layer] : parentLayers, layer, created };
      } catch (e) {
        const err = isBuildError(e) ? e : abort.signal.aborted ? abortError(abort.signal.reason) : noSpace(e, deps.store.root);
        const be = isBuildError(err) ? err : undefined;
        emit({
          type: 'step-failed',
          time: now(),
          step: ref,
          durationMs: now() - started,
          code: be?.code ?? 'TB_INTERNAL',
          message: be?.message ?? String((err as Error)?.message ?? err),
        });
        firstError ??= err;
        abort.abort(err);
        throw err;
      }
    });
  };

  // An unsealed hit (a step an earlier build ran for another target) that this image needs: its
  // blob is made now and its record names the blob from then on.
  const seal = async (step: Step, parentLayers: LayerRef[], layer: LayerRef): Promise<LayerRef | undefined> => {
    if (!sealLayer) throw new Error(`layer ${layer.diffId} of step ${step.id} is unsealed and this executor cannot seal it`);
    const sealed = await sealLayer(parentLayers, layer);
    await deps.store.sealStep?.(step.cacheKey, layer, sealed);
    return sealed;
  };

  const start = now();
  emit({ type: 'build-start', time: start, steps: [...refs.keys()].length });
  try {
    const target = stages.get(plan.target);
    if (!target) throw new Error(`plan has no target stage ${plan.target}`);
    // Demand-driven from the target's chain: each step's lookup starts at once and a miss starts
    // the stages it reads, so independent stages still build in parallel, and a stage whose
    // only reader hit the cache is not built at all.
    const all = stageChain(plan, target).map((s) => state(s.id));
    const results = await Promise.allSettled(all);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw firstError ?? (failed as PromiseRejectedResult).reason;
    await reportUnneeded();
    const output = await stageOutput(target);
    await Promise.all([...records, recordHits(), ...views.map((v) => v.cleanup)]);
    emit({ type: 'build-done', time: now(), durationMs: now() - start, ok: true, summary });
    return { target: output, steps: outcomes, summary };
  } catch (e) {
    await Promise.allSettled([...records, recordHits(), ...views.map((v) => v.cleanup)]);
    emit({ type: 'build-done', time: now(), durationMs: now() - start, ok: false, summary });
    throw e;
  } finally {
    deps.signal?.removeEventListener('abort', onOuterAbort);
  }

  // Steps the target never needed (a later hit covered them) are shown as cached when they are,
  // as BuildKit shows a fully cached graph; nothing of theirs is built, unpacked or downloaded.
  async function reportUnneeded(): Promise<void> {
    const unneeded = plan.steps.filter((s) => !states.has(s.id) && s.kind !== 'config' && !s.noCache);
    const hits = new Map<string, StepRecordLike>();
    for (const s of unneeded) {
      const hit = await deps.store.getStep(s.cacheKey);
      if (hit) hits.set(s.id, hit);
    }
    // Without lazy blobs (a cache export) every hit is sealed, which takes its chain: those steps
    // go the way of needed ones first, so none is reported twice.
    if (!lazy) {
      for (const s of unneeded) {
        const layer = hits.get(s.id)?.layer;
        if (layer && isUnsealed(layer) && !states.has(s.id)) await state(s.id);
      }
    }
    for (const s of unneeded) {
      const hit = hits.get(s.id);
      if (!hit || states.has(s.id)) continue;
      touch(s.cacheKey);
      summary.steps++;
      summary.cached++;
      emit({ type: 'step-cached', time: now(), step: refs.get(s.id)! });
      outcomes.push({ id: s.id, cached: true, durationMs: 0, layer: hit.layer });
    }
  }

  async function stageOutput(stage: PlannedStage): Promise<StageOutput> {
    const chain = stageChain(plan, stage);
    const stepStates = new Map<string, { layer?: LayerRef; created: string }>();
    for (const s of chain) stepStates.set(s.id, await state(s.id));
    const root = stage.root;
    const baseHistory = root.kind === 'image' ? (root.config.history ?? []) : [];
    const { config, layers } = assembleImageConfig({ stage, chain, baseHistory, baseLayers: await rootLayers(stage), stepStates, rootCreated: rootCreated(stage) });
    return { stage: stage.index, config, layers };
  }
}

// Upper dirs, bundles and layers all live on the store's filesystem: a full disk there is the
// user's to fix (one line), not a tbuild bug with a stack.
function noSpace(e: unknown, root: string): unknown {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return e;
  return new BuildError({ code: 'TB_EXEC_NO_SPACE', message: `no space left on ${root}` }, { cause: e });
}

function abortError(reason: unknown): BuildError {
  const msg = reason instanceof Error ? reason.message : 'build cancelled';
  return new BuildError({ code: 'TB_EXEC_CANCELLED', message: msg });
}

/** Names each executing step for progress: its stage and its position among the stage's steps that do work. */
function stepRefs(plan: Plan): Map<string, StepRef> {
  const refs = new Map<string, StepRef>();
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  for (const stage of plan.stages) {
    const working = stage.steps.map((id) => byId.get(id)!).filter((s) => s.kind !== 'config');
    working.forEach((s, i) => {
      refs.set(s.id, {
        id: s.id,
        stage: stage.name ?? String(stage.index),
        index: i + 1,
        total: working.length,
        line: s.location.start.line,
        text: s.text.split('\n')[0]!.trim(),
      });
    });
  }
  return refs;
}
