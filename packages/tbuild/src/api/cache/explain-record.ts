import type { ContextSelection, Plan, Step } from '@tbuild/planner';
import { mountSourceSelection } from '@tbuild/planner';

/** One context entry as `cache why` compares it: the per-file digest plus the metadata it covers. */
export interface ExplainFile {
  path: string;
  /** `xxh64:` over type, mode, owner, link target and content (ContextDigest.files). */
  digest: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  uid: number;
  gid: number;
  link?: string;
}

/** What a step starts from when no working step precedes it in its chain. */
export type ExplainBase =
  | { kind: 'image'; key: string; ref: string; digest: string }
  | { kind: 'scratch'; key: string };

/**
 * Stored with each cache record (StepRecord.explain) so `cache why` can compare a planned step
 * with an earlier build of it exactly, not by guessing:
 * - `dockerfile`, `stage`, `position` identify "the same step" across builds;
 * - `chain` holds the pre-images of the config-only steps (ENV, ARG, ...) between the previous
 *   working step and this one: they are never cached themselves, yet their keys are in the parent chain;
 * - `base` says which image (by digest) a parent-less step starts from: keys only hold its hash;
 * - `files` lists, per context digest the step reads, its files, so a changed digest reads as
 *   "src/app.ts changed (content)". `null` when the listing was too large to keep.
 */
export interface StepExplain {
  v: 1;
  dockerfile: string;
  stage: string;
  position: number;
  chain: Array<{ key: string; keyInputs: unknown; line: number; text: string }>;
  base?: ExplainBase;
  files: Record<string, ExplainFile[] | null>;
}

/** Past this, a record keeps only the context digest: the listing would dwarf the record. */
export const MAX_EXPLAIN_FILES = 20_000;

/** The context operations explain needs (a BuildContext has both; both are memoised per build). */
export interface ContextLister {
  hash(sel: ContextSelection): Promise<{ digest: string; files: Array<{ path: string; digest: string }> }>;
  select(sel: ContextSelection): Promise<Array<{ relPath: string; type: 'file' | 'dir' | 'symlink'; mode: number; uid: number; gid: number; linkTarget?: string }>>;
}

/** Stage name as records and progress show it: the name, else the index. */
export function stageLabel(plan: Plan, index: number): string {
  const st = plan.stages.find((s) => s.index === index);
  return st?.name ?? String(index);
}

/** The nearest step before `step` in its chain that is not config-only, and the config steps in between (oldest first). */
export function previousWorking(plan: Plan, step: Step): { prev?: Step; configs: Step[] } {
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  const configs: Step[] = [];
  let cur = step.parent ? byId.get(step.parent) : undefined;
  while (cur && cur.kind === 'config') {
    configs.unshift(cur);
    cur = cur.parent ? byId.get(cur.parent) : undefined;
  }
  return { prev: cur, configs };
}

/**
 * Main-context selections a step reads: its COPY/ADD source and context bind mounts (as the
 * planner hashed them). A named context's (`--build-context`) are not listed: their files are
 * not in the main context `explainStep` hashes.
 */
export function contextSelections(step: Step): ContextSelection[] {
  const out: ContextSelection[] = [];
  if ((step.spec.kind === 'copy' || step.spec.kind === 'add') && step.spec.from.kind === 'context' && !step.spec.from.name && step.spec.context) out.push(step.spec.context);
  if (step.spec.kind === 'run') {
    for (const m of step.spec.mounts) {
      if (m.type === 'bind' && m.from.kind === 'context' && !m.from.name) out.push(mountSourceSelection(m.source));
    }
  }
  return out;
}

/** Builds the explain payload of `step` from the plan and the (memoised) build context. */
export async function explainStep(plan: Plan, step: Step, opts: { dockerfile: string; context: ContextLister }): Promise<StepExplain> {
  const { prev, configs } = previousWorking(plan, step);
  const first = configs[0] ?? step;
  let base: ExplainBase | undefined;
  if (!prev && !first.parent) {
    const stage = plan.stages.find((s) => s.index === first.stage)!;
    const parentKey = (first.keyInputs as { parent?: string }).parent ?? '';
    base = stage.root.kind === 'image' ? { kind: 'image', key: parentKey, ref: stage.root.ref, digest: stage.root.digest } : { kind: 'scratch', key: parentKey };
  }
  const files: StepExplain['files'] = {};
  for (const sel of contextSelections(step)) {
    const d = await opts.context.hash(sel);
    if (d.files.length > MAX_EXPLAIN_FILES) {
      files[d.digest] = null;
      continue;
    }
    const meta = new Map((await opts.context.select(sel)).map((f) => [f.relPath, f]));
    files[d.digest] = d.files.map((f) => {
      const m = meta.get(f.path);
      return { path: f.path, digest: f.digest, type: m?.type ?? 'file', mode: m?.mode ?? 0, uid: m?.uid ?? 0, gid: m?.gid ?? 0, ...(m?.linkTarget !== undefined ? { link: m.linkTarget } : {}) };
    });
  }
  const stage = plan.stages.find((s) => s.index === step.stage)!;
  return {
    v: 1,
    dockerfile: opts.dockerfile,
    stage: stageLabel(plan, step.stage),
    position: stage.steps.indexOf(step.id),
    chain: configs.map((c) => ({ key: c.cacheKey, keyInputs: c.keyInputs, line: c.location.start.line, text: c.text })),
    base,
    files,
  };
}

/** Reads a stored payload; anything unrecognised (older tbuild, damage) counts as absent. */
export function parseExplain(v: unknown): StepExplain | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const e = v as Partial<StepExplain>;
  if (e.v !== 1 || typeof e.dockerfile !== 'string' || typeof e.stage !== 'string' || typeof e.position !== 'number') return undefined;
  if (!Array.isArray(e.chain) || typeof e.files !== 'object' || e.files === null) return undefined;
  return e as StepExplain;
}
