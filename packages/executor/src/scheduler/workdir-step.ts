import type { Step, WorkdirSpec } from '@tbuild/planner';
import { mkdirAllInRoot } from '../copy/confined-path.ts';
import { resolveUser } from '../runtime/resolve-user.ts';
import { buildLayer, type LayerBuilderDeps } from './layer-builder.ts';
import type { StepRunContext } from './execute-plan.ts';
import type { ParentChain } from './parent-chain.ts';
import type { LayerRef } from './ports.ts';

/** WORKDIR creates its directory (mode 0755, owned by the current USER) when it is missing. */
export async function runWorkdirStep(d: LayerBuilderDeps, step: Step, spec: WorkdirSpec, parent: ParentChain, ctx: Pick<StepRunContext, 'seal' | 'early'>): Promise<LayerRef | undefined> {
  if (!spec.mkdir) return undefined;
  return buildLayer(
    d,
    parent,
    step.id,
    async (active) => {
      const owner = spec.user ? resolveUser(active.rootfs, spec.user) : { uid: 0, gid: 0 };
      await mkdirAllInRoot(active.rootfs, spec.path, { uid: owner.uid, gid: owner.gid, mode: 0o755 });
    },
    {},
    { seal: ctx.seal, early: ctx.early },
  );
}
