import type { SourceRange } from '@tbuild/errors';
import type { Instruction } from '@tbuild/parser';
import type { EnvList } from '../args.ts';
import { stepKey } from '../cache-key.ts';
import type { Diagnostics } from '../diagnostics.ts';
import type { Expander } from '../expand.ts';
import type {
  ContextHasher,
  HistoryEntry,
  ImageConfig,
  PlanInput,
  PlannedStage,
  Platform,
  ResolvedImage,
  Step,
  StepDep,
  StepKind,
  StepSpec,
} from '../types.ts';

/** An instruction as a stage runs it: its own, or an ONBUILD trigger fired by the FROM. */
export interface Command {
  ins: Instruction;
  /** Where the step points: the instruction, or the FROM line for triggers of an image. */
  location: SourceRange;
  text: string;
  /** Maps a word's range to where its errors are reported (triggers parsed from an image config have no place in this file). */
  at(range: SourceRange): SourceRange;
}

/** A reference to another stage or an image (`FROM`, `COPY --from`, `RUN --mount from=`). */
export type StageRef = { kind: 'stage'; stage: number } | { kind: 'image'; ref: string } | { kind: 'named'; name: string };

/** Mutable state of the stage being lowered. */
export interface StageState {
  index: number;
  name?: string;
  platform: Platform;
  config: ImageConfig;
  /** The build env: image ENV plus declared ARGs; what RUN gets and builder-side expansion reads. */
  env: EnvList;
  /** ARGs declared so far (inherited from a base stage), for RUN history's `|N K=V` prefix. */
  args: Array<{ name: string; value?: string }>;
  key: string;
  lastStep?: string;
  stepCount: number;
  /** A CMD ran in this stage: a later ENTRYPOINT keeps it. */
  cmdSet: boolean;
  noCache: boolean;
}

/** What other stages can read of a lowered stage: the planned stage plus what a child stage inherits. */
export interface FinishedStage extends PlannedStage {
  lastStep?: string;
  env: EnvList;
  args: Array<{ name: string; value?: string }>;
}

/** Services every lowering function uses; one per plan() call. */
export interface LowerContext {
  input: PlanInput;
  diags: Diagnostics;
  expander: Expander;
  /** Global ARG values (incl. platform args): what `ARG X` without default inherits. */
  globalArgs: EnvList;
  /** ARG names declared anywhere reachable: a build arg outside it is reported unused. */
  consumedArgs: Set<string>;
  steps: Step[];
  finished: Map<number, FinishedStage>;
  resolveImage(ref: string, platform: Platform, range: SourceRange): Promise<ResolvedImage>;
  /** Resolves `--from`/`from=` (name, index or image) as seen from stage `from`. */
  stageRef(name: string, from: number, range: SourceRange): StageRef;
}

/** Appends a step to the stage, chaining its key to the stage's current key. */
export function emitStep(
  ctx: LowerContext,
  st: StageState,
  cmd: Command,
  kind: StepKind,
  spec: StepSpec,
  op: Record<string, unknown>,
  history: HistoryEntry | undefined,
  deps: StepDep[] = [],
): Step {
  const { cacheKey, keyInputs } = stepKey(kind, st.key, op);
  const step: Step = {
    id: `${st.index}.${++st.stepCount}`,
    stage: st.index,
    kind,
    parent: st.lastStep,
    deps,
    location: cmd.location,
    text: cmd.text,
    cacheKey,
    keyInputs,
    noCache: st.noCache,
    spec,
    history,
    config: structuredClone(st.config.config ?? {}),
  };
  ctx.steps.push(step);
  st.key = cacheKey;
  st.lastStep = step.id;
  return step;
}

export const HISTORY_COMMENT = 'buildkit.dockerfile.v0';

export function addHistory(st: StageState, createdBy: string, emptyLayer: boolean): HistoryEntry {
  const h: HistoryEntry = { created_by: createdBy, comment: HISTORY_COMMENT };
  if (emptyLayer) h.empty_layer = true;
  (st.config.history ??= []).push(h);
  return h;
}

/** The dependency record for reading stage `index` (its last step, if it has one). */
export function depOn(ctx: LowerContext, index: number): StepDep {
  const f = ctx.finished.get(index);
  return f?.lastStep ? { stage: index, step: f.lastStep } : { stage: index };
}

/** The hasher of the main context, or of a named one (`--build-context`). */
export function contextHasher(ctx: LowerContext, name: string | undefined): ContextHasher {
  const named = name === undefined ? undefined : ctx.input.namedContexts?.[name];
  return named?.kind === 'local' ? named.context : ctx.input.context;
}
