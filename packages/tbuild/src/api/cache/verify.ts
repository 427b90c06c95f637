import type { VerifyProblem } from '@tbuild/cache';
import { openStore } from '../store.ts';
import { reapDeadBuilds } from './reap.ts';

/** The outcome of `cache verify`: every problem found (and, with repair, removed). */
export interface CacheVerifyResult {
  problems: VerifyProblem[];
  repaired: boolean;
  /** Pids of dead builds whose containers, mounts and scratch dirs were cleaned first. */
  reaped: number[];
}

/**
 * Re-hashes every blob and checks every snapshot slot, cache entry and image reference. Dead
 * builds' leftovers are cleaned first (they are not problems: the next build would clean them).
 * With `repair`, broken entries are removed so the next build recomputes them.
 */
export async function cacheVerify(opts: { root: string; repair?: boolean }): Promise<CacheVerifyResult> {
  const store = await openStore(opts.root);
  const reaped = await reapDeadBuilds(store);
  const problems = await store.verify({ repair: opts.repair });
  return { problems, repaired: opts.repair === true && problems.length > 0, reaped };
}
