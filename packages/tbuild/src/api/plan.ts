import type { Plan } from '@tbuild/planner';
import { RemoteCache } from '@tbuild/registry';
import type { BuildOptions } from './build.ts';
import { prepareBuild } from './prepare.ts';
import { importSpecs } from './remote-cache.ts';

export interface PlanResult {
  plan: Plan;
  /** Step ids the store (or a `--cache-from` cache) would serve from cache right now. */
  cached: Set<string>;
}

/** Plans a build without running anything, and says which steps would be cache hits. */
export async function planBuild(opts: BuildOptions): Promise<PlanResult> {
  const cacheFrom = importSpecs(opts.cacheFrom);
  const { plan, store, client } = await prepareBuild(opts);
  // Only the remote caches' configs are read: keys are matched without downloading a layer.
  const onWarning = (message: string): void => opts.onEvent?.({ type: 'warning', time: Date.now(), code: 'TB_CACHE_REMOTE_UNUSED', message });
  const remote = cacheFrom.length ? await RemoteCache.open(cacheFrom, { client, onWarning }) : undefined;
  const cached = new Set<string>();
  for (const step of plan.steps) {
    if (step.kind === 'config' || step.noCache) continue;
    if ((await store.getStep(step.cacheKey)) || remote?.lookup(step.cacheKey)) cached.add(step.id);
  }
  return { plan, cached };
}
