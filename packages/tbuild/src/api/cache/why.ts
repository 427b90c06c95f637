import path from 'node:path';
import type { StepRecord } from '@tbuild/cache';
import type { Plan, Step } from '@tbuild/planner';
import type { BuildOptions } from '../build.ts';
import { prepareBuild, type PreparedBuild } from '../prepare.ts';
import { explainStep, parseExplain, previousWorking, stageLabel, type ContextLister, type StepExplain } from './explain-record.ts';
import { compareStep, firstLine, type CompareContext, type WhyDifference } from './why-diff.ts';

/**
 * Why one planned step will (not) be served from the cache.
 * - `cached`: its key is in the store;
 * - `no-cache`: --no-cache / --no-cache-filter forces a run;
 * - `parent-missed` / `source-missed`: the step before it (or a stage it copies from) will run, so its key is new by construction;
 * - `changed`: the first input that differs from the closest earlier build of the step (`closest` is that record's key);
 * - `new`: no earlier build of this step is in the cache;
 * - `broken`: its entry exists but its layer blob is missing or corrupt, so it is not served;
 * - `unused`: it would miss, but nothing that will run reads its stage, so it is not built.
 */
export interface WhyStep {
  id: string;
  stage: string;
  line: number;
  /** The instruction, first line. */
  text: string;
  key: string;
  status: 'cached' | 'no-cache' | 'parent-missed' | 'source-missed' | 'changed' | 'new' | 'broken' | 'unused';
  /** The reason in user terms, e.g. "src/app.ts changed (content), 2 files added". */
  message: string;
  closest?: string;
  /** Every differing input against `closest`, first one first (the message is the first). */
  differences?: WhyDifference[];
}

/** The answer of `tbuild cache why` / `build --explain`: one entry per step that does work, in plan order. */
export interface WhyReport {
  steps: WhyStep[];
  /** How many steps will run. */
  misses: number;
}

/** Plans the build described by `opts` (nothing runs) and explains every step's cache outcome. */
export async function cacheWhy(opts: BuildOptions): Promise<WhyReport> {
  const prepared = await prepareBuild(opts);
  try {
    return await explainPlan(prepared);
  } finally {
    if (!opts.buildContext) await prepared.context.close();
  }
}

/** The Dockerfile identity recorded with cache entries: an absolute path ("-" for stdin). */
export function dockerfileIdentity(prepared: Pick<PreparedBuild, 'file' | 'contextDir'>, stdin: boolean): string {
  return stdin ? '-' : path.resolve(prepared.file.path);
}

/** `cache why` over an already prepared build (shared with `build --explain`). */
export async function explainPlan(prepared: PreparedBuild, opts: { stdin?: boolean } = {}): Promise<WhyReport> {
  const { plan, store } = prepared;
  const dockerfile = dockerfileIdentity(prepared, opts.stdin ?? false);
  const records = await store.listSteps();
  const index = indexRecords(records);
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  const outcome = new Map<string, WhyStep>();
  const steps: WhyStep[] = [];

  for (const step of plan.steps) {
    if (step.kind === 'config') continue;
    const base = { id: step.id, stage: stageLabel(plan, step.stage), line: step.location.start.line, text: firstLine(step.text), key: step.cacheKey };
    const w = await explainOne(step);
    const entry: WhyStep = { ...base, ...w };
    outcome.set(step.id, entry);
    steps.push(entry);
  }
  // The executor starts another stage only for a step that misses and reads it; a stage whose
  // readers all hit is never built, whatever its own steps would do.
  const needed = neededSteps(plan, byId, (id) => outcome.get(id)?.status === 'cached');
  for (const s of steps) {
    if (s.status === 'cached' || needed.has(s.id)) continue;
    s.status = 'unused';
    s.message = 'will not run: every step that reads this stage is cached';
    delete s.closest;
    delete s.differences;
  }
  return { steps, misses: steps.filter((s) => s.status !== 'cached' && s.status !== 'unused').length };

  async function explainOne(step: Step): Promise<Pick<WhyStep, 'status' | 'message' | 'closest' | 'differences'>> {
    if (step.noCache) return { status: 'no-cache', message: 'cache disabled for this step (--no-cache or --no-cache-filter)' };
    if (await store.getStep(step.cacheKey)) return { status: 'cached', message: 'cached' };
    // The entry exists but getStep refused it: its layer blob is gone or no longer hashes right.
    if (index.byKey.has(step.cacheKey)) return { status: 'broken', message: 'its cache entry is unusable (layer blob missing or corrupt); it will run again', closest: step.cacheKey };
    const { prev } = previousWorking(plan, step);
    const prevOutcome = prev && outcome.get(prev.id);
    if (prevOutcome && prevOutcome.status !== 'cached') return { status: 'parent-missed', message: `parent step missed (line ${prevOutcome.line} \`${prevOutcome.text}\`)` };
    for (const dep of step.deps) {
      const missed = lastWorkingMiss(plan, dep, byId, outcome);
      if (missed) return { status: 'source-missed', message: `stage "${missed.stage}" it reads from missed (line ${missed.line} \`${missed.text}\`)` };
    }
    const explain = await explainStep(plan, step, { dockerfile, context: prepared.context as ContextLister });
    const candidates = candidatesFor(step, explain, index);
    if (candidates.length === 0) return { status: 'new', message: 'no earlier build of this step is in the cache' };
    const cx = compareContext(plan, step, index);
    let best: { rec: StepRecord; diffs: WhyDifference[]; rank: number } | undefined;
    for (const c of candidates) {
      const diffs = compareStep({ keyInputs: c.rec.keyInputs, text: c.rec.source?.text ?? '', explain: c.explain }, { keyInputs: step.keyInputs, text: step.text, explain }, cx);
      if (diffs.length === 0) continue;
      const rank = diffs.length * 4 - c.affinity;
      if (!best || rank < best.rank || (rank === best.rank && c.rec.lastUsed > best.rec.lastUsed)) best = { rec: c.rec, diffs, rank };
    }
    if (!best) return { status: 'new', message: 'no earlier build of this step is in the cache' };
    return { status: 'changed', message: best.diffs[0]!.message, closest: best.rec.key, differences: best.diffs };
  }
}

interface RecordIndex {
  byParent: Map<string, StepRecord[]>;
  byIdentity: Map<string, StepRecord[]>;
  byKey: Map<string, StepRecord>;
  explains: Map<string, StepExplain | undefined>;
}

function identity(dockerfile: string, stage: string, what: string | number): string {
  return JSON.stringify([dockerfile, stage, what]);
}

function indexRecords(records: StepRecord[]): RecordIndex {
  const ix: RecordIndex = { byParent: new Map(), byIdentity: new Map(), byKey: new Map(), explains: new Map() };
  const push = (m: Map<string, StepRecord[]>, k: string, r: StepRecord): void => {
    const l = m.get(k);
    if (l) l.push(r);
    else m.set(k, [r]);
  };
  for (const r of records) {
    ix.byKey.set(r.key, r);
    const parent = (r.keyInputs as { parent?: unknown } | undefined)?.parent;
    if (typeof parent === 'string') push(ix.byParent, parent, r);
    const e = parseExplain(r.explain);
    ix.explains.set(r.key, e);
    if (e) {
      push(ix.byIdentity, identity(e.dockerfile, e.stage, e.position), r);
      if (r.source?.text) push(ix.byIdentity, identity(e.dockerfile, e.stage, firstLine(r.source.text)), r);
    }
  }
  return ix;
}

/**
 * Earlier builds of "the same step": records built on the very same parent state, and records of
 * the same Dockerfile and stage at the same position or with the same instruction text. Each
 * gets an affinity (how many of those it shares) to break ties between equally close records.
 */
function candidatesFor(step: Step, e: StepExplain, ix: RecordIndex): Array<{ rec: StepRecord; explain?: StepExplain; affinity: number }> {
  const score = new Map<string, number>();
  const bump = (l: StepRecord[] | undefined): void => {
    for (const r of l ?? []) score.set(r.key, (score.get(r.key) ?? 0) + 1);
  };
  bump(ix.byParent.get((step.keyInputs as { parent?: string }).parent ?? ''));
  bump(ix.byIdentity.get(identity(e.dockerfile, e.stage, e.position)));
  bump(ix.byIdentity.get(identity(e.dockerfile, e.stage, firstLine(step.text))));
  return [...score].map(([key, affinity]) => ({ rec: ix.byKey.get(key)!, explain: ix.explains.get(key), affinity }));
}

function compareContext(plan: Plan, step: Step, ix: RecordIndex): CompareContext {
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  const argNames = new Set<string>();
  for (let cur = step.parent ? byId.get(step.parent) : undefined; cur; cur = cur.parent ? byId.get(cur.parent) : undefined) {
    if (cur.kind === 'config' && (cur.spec as { instruction?: string }).instruction === 'ARG') {
      for (const word of firstLine(cur.text).split(/\s+/).slice(1)) argNames.add(word.split('=')[0]!);
    }
  }
  return {
    argNames,
    stageOfKey: (key) => {
      const st = plan.stages.find((s) => s.finalKey === key);
      return st ? stageLabel(plan, st.index) : undefined;
    },
    describeKey: (key) => {
      const r = ix.byKey.get(key);
      const planned = plan.steps.find((s) => s.cacheKey === key);
      if (planned) return `line ${planned.location.start.line} \`${firstLine(planned.text)}\``;
      return r?.source ? `line ${r.source.line} \`${firstLine(r.source.text)}\`` : undefined;
    },
  };
}

function lastWorkingMiss(plan: Plan, dep: { stage: number; step?: string }, byId: Map<string, Step>, outcome: Map<string, WhyStep>): WhyStep | undefined {
  let id = dep.step;
  if (!id) {
    const st = plan.stages.find((s) => s.index === dep.stage);
    id = st?.steps.length ? st.steps[st.steps.length - 1] : st?.parentStep;
  }
  let cur = id ? byId.get(id) : undefined;
  while (cur && cur.kind === 'config') cur = cur.parent ? byId.get(cur.parent) : undefined;
  const o = cur && outcome.get(cur.id);
  return o && o.status !== 'cached' ? o : undefined;
}

/**
 * Steps the build will reach: the target's chain (through base stages), plus, for every step
 * there that misses, the chains of the stages it reads, transitively.
 */
function neededSteps(plan: Plan, byId: Map<string, Step>, cached: (id: string) => boolean): Set<string> {
  const needed = new Set<string>();
  const lastOf = (stage: number): string | undefined => {
    const st = plan.stages.find((s) => s.index === stage);
    return st?.steps.length ? st.steps[st.steps.length - 1] : st?.parentStep;
  };
  const queue: Array<string | undefined> = [lastOf(plan.target)];
  while (queue.length) {
    for (let cur = byId.get(queue.pop() ?? ''); cur && !needed.has(cur.id); cur = cur.parent ? byId.get(cur.parent) : undefined) {
      needed.add(cur.id);
      if (cur.kind === 'config' || !cached(cur.id)) for (const d of cur.deps) queue.push(d.step ?? lastOf(d.stage));
    }
  }
  return needed;
}

/** `line 12 \`COPY . /app\`: src/app.ts changed (content)`: one line per step, as users see it. */
export function formatWhyLine(s: WhyStep): string {
  return `line ${s.line} \`${s.text}\`: ${s.message}`;
}


/**
 * The report as text: one line per step (`[stage] line N \`TEXT\`: reason`), then a count.
 * `missesOnly` (build --explain) leaves out the steps that hit.
 */
export function formatWhyReport(r: WhyReport, opts: { missesOnly?: boolean } = {}): string {
  const stages = new Set(r.steps.map((s) => s.stage));
  const lines = r.steps
    .filter((s) => !opts.missesOnly || s.status !== 'cached')
    .map((s) => (stages.size > 1 ? `[${s.stage}] ${formatWhyLine(s)}` : formatWhyLine(s)));
  const unused = r.steps.filter((s) => s.status === 'unused').length;
  if (r.misses > 0) lines.push(`${r.misses} of ${r.steps.length} steps will run`);
  else if (unused > 0) lines.push(`no step will run: ${r.steps.length - unused} served from the cache, ${unused} not needed`);
  else lines.push(`all ${r.steps.length} steps will be served from the cache`);
  return lines.join('\n');
}
