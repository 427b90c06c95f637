import type { Plan } from '@tbuild/planner';
import type { BuildOptions } from './build.ts';
import { prepareBuild } from './prepare.ts';

export interface PlanResult {
  plan: Plan;
  /** Step ids the store would serve from cache right now. */
  cached: Set<string>;
}

/** Plans a build without running anything, and says which steps would be cache hits. */
export async function planBuild(opts: BuildOptions): Promise<PlanResult> {
  const { plan, store } = await prepareBuild(opts);
  const cached = new Set<string>();
  for (const step of plan.steps) {
    if (step.kind === 'config' || step.noCache) continue;
    if (await store.getStep(step.cacheKey)) cached.add(step.id);
  }
  return { plan, cached };
}
