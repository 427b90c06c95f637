import { RegistryClient, RemoteCache } from '@tbuild/registry';
import { parseFilters, type CacheEntry } from './cache/entries.ts';
import { importSpecs } from './remote-cache.ts';

/** Options of `remoteCacheLs`: caches as `--cache-from` names them, docker-style filters, registries reached over HTTP. */
export interface RemoteCacheLsOptions {
  from: string[];
  filters?: string[];
  insecureRegistries?: string[];
  now?: number;
}

/**
 * What shared caches hold (`tbuild cache ls --from REF`), as cache entries: `file` names the
 * cache, `created` is when the step first ran. Only the cache configs are read, no layer.
 * A cache that does not exist or cannot be read is an error here, not a warning.
 */
export async function remoteCacheLs(opts: RemoteCacheLsOptions): Promise<CacheEntry[]> {
  const filters = parseFilters(opts.filters ?? [], opts.now);
  const client = new RegistryClient({ insecureRegistries: opts.insecureRegistries });
  const remote = await RemoteCache.open(importSpecs(opts.from), { client, strict: true });
  const out: CacheEntry[] = [];
  for (const { source, config } of remote.loaded()) {
    for (const r of config.records) {
      const layer = r.layer === undefined ? undefined : config.layers[r.layer];
      out.push({
        key: r.key,
        shortKey: r.key.replace(/^sha256:/, '').slice(0, 12),
        file: source,
        line: r.line ?? 0,
        text: r.text ?? '',
        stage: r.stage ?? '',
        size: layer?.size ?? 0,
        created: r.created ?? '',
        lastUsed: r.created ?? '',
        hits: 0,
        ...(layer ? { layer } : {}),
        images: [],
      });
    }
  }
  return out.filter((e) => filters.every((f) => f(e)));
}
