import { isSha256Digest } from '../digest.ts';

/**
 * One cached step: the cache key, the layer it produced (if any) and the image-config changes,
 * plus bookkeeping for `cache ls` and gc. `size` is what the step costs on disk (bytes), used
 * by gc's keepStorage; `created`/`lastUsed` are ISO-8601 times.
 */
export interface StepRecord {
  key: string;
  layer?: { digest: string; diffId: string; size: number; mediaType: string };
  config?: unknown;
  keyInputs?: unknown;
  source?: { file: string; line: number; text: string; stage?: string };
  /**
   * What `tbuild cache why`/`inspect` need beyond keyInputs (the config steps and stage root
   * the key chains through, per-file context digests). Written by the build, opaque to the store.
   */
  explain?: unknown;
  created: string;
  lastUsed: string;
  hits: number;
  size: number;
}

/** Parses a stored record; undefined for anything malformed (treated as a cache miss). */
export function parseStepRecord(raw: Buffer | string): StepRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(raw.toString());
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (typeof r.key !== 'string' || typeof r.created !== 'string' || typeof r.lastUsed !== 'string') return undefined;
  if (typeof r.hits !== 'number' || typeof r.size !== 'number') return undefined;
  if (r.layer !== undefined) {
    const l = r.layer as Record<string, unknown> | null;
    if (!l || !isSha256Digest(l.digest) || !isSha256Digest(l.diffId) || typeof l.size !== 'number' || typeof l.mediaType !== 'string') return undefined;
  }
  return v as StepRecord;
}
