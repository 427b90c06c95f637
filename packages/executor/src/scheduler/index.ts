export { runPlan } from './step-runner.ts';
export type { BuildMachinery } from './step-runner.ts';
export { executePlan } from './execute-plan.ts';
export type { ExecuteResult, StageOutput, StepOutcome, StepRunner, StepRunContext } from './execute-plan.ts';
export type { ExecutorDeps, FileSelector, LayerRef, SelectedFileLike, StepRecordLike, StorePort } from './ports.ts';
export { LAYER_MEDIA_TYPE } from './layer-builder.ts';
