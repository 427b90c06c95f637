import type { StepRecord } from '@tbuild/cache';
import { BuildError } from '@tbuild/errors';
import { openStore } from '../store.ts';
import { toEntry, viewStore, type CacheEntry } from './entries.ts';
import { parseExplain, type ExplainBase, type ExplainFile } from './explain-record.ts';
import { redactAssignment, redactKeyInputs, redactText } from './redact.ts';

/**
 * Everything about one cache entry. `keyInputs` is the key's canonical pre-image (its sha256 is
 * the key) with secret-looking env values replaced by `<redacted>`; the other fields pick the
 * parts users ask about out of it and out of the explain data recorded with the entry.
 */
export interface CacheEntryDetail extends CacheEntry {
  kind: string;
  parent: string;
  /** RUN: the final argv; other kinds: absent. */
  command?: string[];
  /** RUN: the environment the process saw (redacted). */
  env?: string[];
  /** Build args visible to the step (declared by an ARG before it), with their values (redacted). */
  args?: string[];
  /** What the stage started from, when the step is the first that does work in its chain. */
  base?: ExplainBase;
  /** Config-only steps (ENV, ARG, ...) between the previous step and this one. */
  configSteps: Array<{ line: number; text: string; key: string }>;
  /** Per context selection the step read: its digest and per-path content digests (null: too many files were selected to record). */
  contextFiles: Array<{ digest: string; files: ExplainFile[] | null }>;
  keyInputs: unknown;
}

/** Finds an entry by full key or unique hex prefix; unknown and ambiguous prefixes are user errors. */
export async function cacheInspect(opts: { root: string; key: string }): Promise<CacheEntryDetail> {
  const store = await openStore(opts.root);
  const view = await viewStore(store);
  const rec = findRecord(view.records, opts.key);
  const e = parseExplain(rec.explain);
  const ki = (rec.keyInputs ?? {}) as { kind?: string; parent?: string; op?: Record<string, unknown> };
  const op = ki.op ?? {};
  const env = Array.isArray(op.env) ? (op.env as string[]).map(redactAssignment) : undefined;
  const argNames = new Set<string>();
  for (const c of e?.chain ?? []) {
    if (/^ARG\s/i.test(c.text)) for (const w of c.text.trim().split(/\s+/).slice(1)) argNames.add(w.split('=')[0]!);
  }
  return {
    ...toEntry(rec, view),
    kind: ki.kind ?? '',
    parent: ki.parent ?? '',
    command: Array.isArray(op.args) ? (op.args as string[]) : undefined,
    env,
    args: env?.filter((kv) => argNames.has(kv.slice(0, kv.indexOf('=')))),
    base: e?.base,
    configSteps: (e?.chain ?? []).map((c) => ({ line: c.line, text: redactText(c.text), key: c.key })),
    contextFiles: Object.entries(e?.files ?? {}).map(([digest, files]) => ({ digest, files })),
    keyInputs: redactKeyInputs(rec.keyInputs),
  };
}

export function findRecord(records: StepRecord[], key: string): StepRecord {
  const want = key.trim().replace(/^sha256:/, '').toLowerCase();
  if (!/^[0-9a-f]{1,64}$/.test(want)) {
    throw new BuildError({ code: 'TB_CACHE_KEY_INVALID', message: `"${key}" is not a cache key`, hint: 'pass a key (or its first hex digits) as `tbuild cache ls` shows it' });
  }
  const hits = records.filter((r) => r.key.replace(/^sha256:/, '').startsWith(want));
  if (hits.length === 1) return hits[0]!;
  if (hits.length === 0) {
    throw new BuildError({ code: 'TB_CACHE_KEY_NOT_FOUND', message: `no cache entry with key ${key}`, hint: 'list the entries with `tbuild cache ls`' });
  }
  throw new BuildError({
    code: 'TB_CACHE_KEY_AMBIGUOUS',
    message: `key prefix ${key} matches ${hits.length} cache entries`,
    hint: `use more digits, e.g. ${hits.slice(0, 2).map((h) => h.key.replace(/^sha256:/, '').slice(0, want.length + 4)).join(' or ')}`,
  });
}
