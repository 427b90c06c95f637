import fs from 'node:fs/promises';
import path from 'node:path';
import { BuildError } from '@tbuild/errors';
import { openStore } from '../store.ts';
import { diskUsage } from './entries.ts';
import { liveBuilds, reapDeadBuilds } from './reap.ts';
import { parseDuration } from './units.ts';

/**
 * What `cache prune` removes. Without options: data nothing refers to (unreferenced blobs and
 * snapshots, leftovers of dead builds). `all`: every cache entry; `keepStorage`: least recently
 * used entries until layers and snapshots fit in that many bytes; `filters` (`until=24h`):
 * entries last used longer ago. `mounts`: the `RUN --mount=type=cache` directories instead of
 * cache entries. Image content and whatever a running build leased is never removed.
 */
export interface CachePruneOptions {
  root: string;
  all?: boolean;
  keepStorage?: number;
  filters?: string[];
  mounts?: boolean;
  dryRun?: boolean;
  now?: number;
}

/** Counts of what went (or would go, with dryRun) and the bytes freed. */
export interface CachePruneResult {
  entries: number;
  blobs: number;
  snapshots: number;
  mounts: number;
  freed: number;
  /** Set when cache mounts were kept because builds are running (their pids). */
  mountsBusy?: number[];
}

export async function cachePrune(opts: CachePruneOptions): Promise<CachePruneResult> {
  const store = await openStore(opts.root);
  let until: number | undefined;
  for (const f of opts.filters ?? []) {
    const eq = f.indexOf('=');
    if (f.slice(0, eq) !== 'until') {
      throw new BuildError({ code: 'TB_CLI_USAGE', message: `unsupported prune filter "${f}"`, hint: 'cache prune takes --filter until=DURATION (e.g. until=24h)' });
    }
    until = (opts.now ?? Date.now()) - parseDuration(f.slice(eq + 1), `--filter ${f}`);
  }
  if (!opts.dryRun) await reapDeadBuilds(store);
  const result: CachePruneResult = { entries: 0, blobs: 0, snapshots: 0, mounts: 0, freed: 0 };
  if (opts.mounts) {
    // Which mount a running build uses is not recorded, so none is touched while one runs.
    const busy = await liveBuilds(store);
    if (busy.length) return { ...result, mountsBusy: busy };
    for (const name of await fs.readdir(store.dirs.mounts).catch(() => [] as string[])) {
      const dir = path.join(store.dirs.mounts, name);
      result.freed += await diskUsage(dir);
      result.mounts++;
      if (!opts.dryRun) await fs.rm(dir, { recursive: true, force: true });
    }
    return result;
  }
  const gc = await store.gc({ all: opts.all, keepStorage: opts.keepStorage, until, dryRun: opts.dryRun });
  for (const r of gc.removed) {
    if (r.startsWith('step:')) result.entries++;
    else if (r.startsWith('blob:')) result.blobs++;
    else if (r.startsWith('snapshot:')) result.snapshots++;
  }
  result.freed = gc.freed;
  return result;
}
