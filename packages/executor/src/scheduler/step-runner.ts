import type { SourceFile } from '@tbuild/errors';
import type { ContainerRuntime } from '../runtime/container-runtime.ts';
import type { Snapshotter } from '../snapshot/snapshotter.ts';
import { runCopyStep } from './copy-step.ts';
import { sealLayer } from './layer-builder.ts';
import { executePlan, type ExecuteResult, type StepRunner } from './execute-plan.ts';
import type { ExecutorDeps } from './ports.ts';
import { runRunStep } from './run-step.ts';
import { runWorkdirStep } from './workdir-step.ts';
import type { Plan } from '@tbuild/planner';

export interface BuildMachinery {
  runtime: ContainerRuntime;
  snapshotter: Snapshotter;
  file?: SourceFile;
}

/** Runs a plan with the real step implementations (RUN in containers, COPY/ADD/WORKDIR as direct writes). */
export function runPlan(plan: Plan, deps: ExecutorDeps, m: BuildMachinery): Promise<ExecuteResult> {
  const base = { store: deps.store, snapshotter: m.snapshotter, sourceDateEpoch: deps.sourceDateEpoch };
  const runner: StepRunner = (step, parent, ctx) => {
    const spec = step.spec;
    switch (spec.kind) {
      case 'run':
        return runRunStep({ ...base, runtime: m.runtime, deps, file: m.file }, step, spec, parent, ctx);
      case 'copy':
      case 'add':
        return runCopyStep({ ...base, deps, file: m.file }, step, spec, parent, ctx);
      case 'workdir':
        return runWorkdirStep(base, step, spec, parent, ctx);
      case 'config':
        return Promise.resolve(undefined);
    }
  };
  return executePlan(plan, deps, runner, (parents, layer) => sealLayer(base, parents, layer));
}
