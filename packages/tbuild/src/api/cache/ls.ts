import { openStore } from '../store.ts';
import { parseFilters, toEntry, viewStore, type CacheEntry } from './entries.ts';

/** Options of `cacheLs`: the store root and docker-style `NAME=VALUE` filters (all must match). */
export interface CacheLsOptions {
  root: string;
  filters?: string[];
  now?: number;
}

/** Every cache entry that passes the filters, most recently used first (ties: newest, then key). */
export async function cacheLs(opts: CacheLsOptions): Promise<CacheEntry[]> {
  const store = await openStore(opts.root);
  const filters = parseFilters(opts.filters ?? [], opts.now);
  const view = await viewStore(store);
  return view.records
    .map((r) => toEntry(r, view))
    .filter((e) => filters.every((f) => f(e)))
    .sort((a, b) => cmp(b.lastUsed, a.lastUsed) || cmp(b.created, a.created) || cmp(a.key, b.key));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
