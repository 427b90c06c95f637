export type {
  Platform,
  HealthcheckConfig,
  ContainerConfig,
  HistoryEntry,
  ImageConfig,
  ResolvedImage,
  ImageResolver,
  ContextSelection,
  ContextHasher,
  PlanInput,
  ExtraHost,
  NamedContext,
  SourceRef,
  StageBase,
  InlineFile,
  RunMount,
  RunSpec,
  CopySpec,
  WorkdirSpec,
  ConfigSpec,
  StepSpec,
  StepKind,
  StepDep,
  Step,
  PlannedStage,
  Plan,
} from './types.ts';
export { plan } from './plan.ts';
export { KEY_VERSION, imageRootKey, scratchRootKey } from './cache-key.ts';
export { canonicalJson, digestOf } from './canonical.ts';
export { formatPlatform, parsePlatform } from './platform.ts';
export { mountSourceSelection } from './lower/mounts.ts';
export { formatPlanText, formatPlanJson, formatPlanDot } from './format/index.ts';
export type { PlanFormatOptions } from './format/index.ts';
export { diffKeyInputs } from './explain.ts';
export type { KeyDifference } from './explain.ts';
