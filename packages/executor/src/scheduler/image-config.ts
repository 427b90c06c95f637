import type { HistoryEntry, ImageConfig, Plan, PlannedStage, Step } from '@tbuild/planner';
import type { LayerRef } from './ports.ts';

/** The steps from a stage's root image (or scratch) to its final state, across `FROM stage` chains, bottom first. */
export function stageChain(plan: Plan, stage: PlannedStage): Step[] {
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  const last = stage.steps.length ? stage.steps[stage.steps.length - 1] : stage.parentStep;
  const chain: Step[] = [];
  for (let id = last; id !== undefined; id = byId.get(id)?.parent) {
    const s = byId.get(id);
    if (!s) throw new Error(`plan has no step ${id}`);
    chain.push(s);
  }
  return chain.reverse();
}

/**
 * The image config of a built stage: the planner's config with `rootfs.diff_ids` made of the
 * layers actually produced, and history rebuilt so that a step whose diff was empty is marked
 * `empty_layer` (an image's history must line up with its layers one for one).
 */
export function assembleImageConfig(opts: {
  stage: PlannedStage;
  chain: Step[];
  baseHistory: HistoryEntry[];
  baseLayers: LayerRef[];
  /** Each step's layer (none for an empty diff or a config step) and when it was built. */
  stepStates: Map<string, { layer?: LayerRef; created: string }>;
  rootCreated: string;
}): { config: ImageConfig; layers: LayerRef[] } {
  const layers = [...opts.baseLayers];
  const history: HistoryEntry[] = [...opts.baseHistory];
  let created = opts.rootCreated;
  for (const step of opts.chain) {
    const st = opts.stepStates.get(step.id);
    const layer = st?.layer;
    if (st && st.created > created) created = st.created;
    if (layer) layers.push(layer);
    if (!step.history && !layer) continue;
    const h: HistoryEntry = { ...(step.history ?? { created_by: step.text }), created: st?.created ?? created };
    if (layer) delete h.empty_layer;
    else h.empty_layer = true;
    history.push(h);
  }
  const config: ImageConfig = {
    ...opts.stage.config,
    created,
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history,
  };
  return { config, layers };
}
