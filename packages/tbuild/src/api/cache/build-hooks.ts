import type { Store } from '@tbuild/cache';
import type { Step } from '@tbuild/planner';
import { getImage } from '@tbuild/registry';
import type { PreparedBuild } from '../prepare.ts';
import { explainStep, type ContextLister } from './explain-record.ts';
import { dockerfileIdentity, explainPlan, type WhyReport } from './why.ts';

/** What a build needs from the cache tooling: leases against a concurrent prune, and explain data for its records. */
export interface BuildCacheHooks {
  /** The StepRecord.explain payload of a step that just ran (never throws: explain data is optional). */
  explain(step: Step): Promise<unknown>;
  /**
   * Pins a cache hit's layer before the build uses it: a hit on a record another build wrote
   * after this one leased its inputs is not in the lease, and a prune could remove its snapshot
   * while this build mounts it. True when the lease already held it; false when it was pinned
   * just now, and the caller looks the record up again (a prune may have come in between).
   */
  pinHit(layer: { digest: string; diffId: string }): Promise<boolean>;
  /** Drops the build's leases; call once the image is stored (refs protect it from then on). */
  release(): Promise<void>;
}

/**
 * Sets a build up for the cache: leases everything it may read (base images, the layers of the
 * steps that will hit) and everything it writes from `since` on, so `tbuild cache prune` in
 * another process never deletes what this build needs; with `onExplain`, reports why each step
 * will miss before anything runs (`build --explain`).
 */
export async function buildCacheHooks(
  prepared: Pick<PreparedBuild, 'store' | 'plan' | 'context' | 'file' | 'contextDir'>,
  opts: { since: number; stdin: boolean; onExplain?: (report: WhyReport) => void },
): Promise<BuildCacheHooks> {
  const { release: releaseInputs, leased } = await leaseBuildInputs(prepared.store, prepared, opts.since);
  const extra: Array<Promise<() => Promise<void>>> = [];
  const release = async (): Promise<void> => {
    for (const r of await Promise.allSettled(extra)) if (r.status === 'fulfilled') await r.value();
    await releaseInputs();
  };
  try {
    if (opts.onExplain) opts.onExplain(await explainPlan(prepared as PreparedBuild, { stdin: opts.stdin }));
  } catch (e) {
    await release();
    throw e;
  }
  const dockerfile = dockerfileIdentity(prepared, opts.stdin);
  return {
    explain: (step) => explainStep(prepared.plan, step, { dockerfile, context: prepared.context as ContextLister }).catch(() => undefined),
    pinHit: async (layer) => {
      if (leased.has(layer.digest) && leased.has(layer.diffId)) return true;
      // As the inputs were: a prune either ran before (the caller's second look then finds
      // what is left) or runs after and sees the lease.
      const lease = prepared.store.pinUnpruned(async () => ({ release: await prepared.store.lease([layer.digest, layer.diffId]) }));
      extra.push(lease.then((l) => l.release));
      await lease;
      leased.add(layer.digest).add(layer.diffId);
      return false;
    },
    release,
  };
}

// A prune either ran before (and what we then find is what exists) or runs after and sees the
// lease; it never deletes a layer between our lookup and our lease (Store.pinUnpruned).
function leaseBuildInputs(store: Store, prepared: Pick<PreparedBuild, 'plan'>, since: number): Promise<{ release: () => Promise<void>; leased: Set<string> }> {
  return store.pinUnpruned(async () => {
    const digests = new Set<string>();
    // Stages often share a base: each image is read once (a warm 9-stage build read it 9 times).
    for (const stage of prepared.plan.stages) if (stage.root.kind === 'image') digests.add(stage.root.digest);
    for (const img of await Promise.all([...digests].map((d) => getImage(store, d).catch(() => undefined)))) {
      if (!img) continue;
      digests.add(img.configDigest);
      for (const l of img.manifest.layers) digests.add(l.digest);
      for (const d of img.config.rootfs.diff_ids) digests.add(d);
    }
    const cachable = prepared.plan.steps.filter((s) => s.kind !== 'config' && !s.noCache);
    for (const rec of await Promise.all(cachable.map((s) => store.getStep(s.cacheKey)))) {
      if (rec?.layer) {
        digests.add(rec.layer.digest);
        digests.add(rec.layer.diffId);
      }
    }
    return { release: await store.lease([...digests], { since }), leased: digests };
  });
}
