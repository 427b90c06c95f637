import path from 'node:path';
import { diskUsage as storeDiskUsage, type StepRecord, type Store } from '@tbuild/cache';
import { BuildError, suggest } from '@tbuild/errors';
import { parseExplain } from './explain-record.ts';
import { parseDuration } from './units.ts';

/** One cache entry as `cache ls` shows it: where it came from, what it costs, how it is used. */
export interface CacheEntry {
  key: string;
  /** First 12 hex digits of the key: what `cache inspect` accepts (any unique prefix does). */
  shortKey: string;
  /** Dockerfile path as the build named it, its line, the instruction and the stage. */
  file: string;
  line: number;
  text: string;
  stage: string;
  /** Bytes of the layer blob this step produced (0 for an empty diff). */
  size: number;
  created: string;
  lastUsed: string;
  hits: number;
  layer?: { digest: string; diffId: string; size: number; mediaType: string };
  /** Image names whose image contains this step's layer. */
  images: string[];
}

/** The store root and its image layers, read once per command. */
export interface StoreView {
  store: Store;
  records: StepRecord[];
  /** layer digest → image names that contain it. */
  imagesByLayer: Map<string, string[]>;
}

export async function viewStore(store: Store): Promise<StoreView> {
  const records = await store.listSteps();
  const imagesByLayer = new Map<string, string[]>();
  for (const ref of await store.listRefs()) {
    const name = imageName(ref.name);
    for (const layer of await imageLayerDigests(store, ref.digest)) {
      const l = imagesByLayer.get(layer) ?? [];
      if (!l.includes(name)) l.push(name);
      imagesByLayer.set(layer, l);
    }
  }
  return { store, records, imagesByLayer };
}

/** `image:docker.io/library/app:1` → `app:1`: refs carry a kind prefix, images are shown as docker does. */
export function imageName(ref: string): string {
  return ref.replace(/^image:/, '').replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '');
}

/** Layer digests of an image (following an index to the manifests present); broken documents yield nothing. */
export async function imageLayerDigests(store: Store, digest: string, depth = 0): Promise<string[]> {
  let doc: { manifests?: Array<{ digest?: string }>; layers?: Array<{ digest?: string }> };
  try {
    doc = JSON.parse((await store.readBlob(digest)).toString()) as typeof doc;
  } catch {
    return [];
  }
  const out: string[] = [];
  if (Array.isArray(doc.manifests) && depth < 4) for (const m of doc.manifests) if (m?.digest && (await store.hasBlob(m.digest))) out.push(...(await imageLayerDigests(store, m.digest, depth + 1)));
  if (Array.isArray(doc.layers)) for (const l of doc.layers) if (typeof l?.digest === 'string') out.push(l.digest);
  return out;
}

export function toEntry(rec: StepRecord, view: StoreView): CacheEntry {
  const e = parseExplain(rec.explain);
  return {
    key: rec.key,
    shortKey: rec.key.replace(/^sha256:/, '').slice(0, 12),
    file: rec.source?.file ?? '',
    line: rec.source?.line ?? 0,
    text: (rec.source?.text ?? '').split('\n')[0]!.trim(),
    stage: rec.source?.stage ?? e?.stage ?? '',
    size: rec.layer?.size ?? 0,
    created: rec.created,
    lastUsed: rec.lastUsed,
    hits: rec.hits,
    layer: rec.layer,
    images: rec.layer ? (view.imagesByLayer.get(rec.layer.digest) ?? []) : [],
  };
}

const FILTERS = ['until', 'since', 'stage', 'file', 'text', 'key', 'inuse'];

/** A parsed `--filter NAME=VALUE`: every filter must match (docker semantics). */
export type EntryFilter = (e: CacheEntry) => boolean;

/**
 * `until=24h` (last used longer ago), `since=1h` (used within), `stage=NAME`, `file=PATH`
 * (suffix of the Dockerfile path), `text=WORDS` (in the instruction), `key=PREFIX`,
 * `inuse=true|false` (an image contains the layer).
 */
export function parseFilters(filters: string[], now = Date.now()): EntryFilter[] {
  return filters.map((f) => {
    const eq = f.indexOf('=');
    const name = eq < 0 ? f : f.slice(0, eq);
    const value = eq < 0 ? '' : f.slice(eq + 1);
    if (!FILTERS.includes(name)) {
      const near = suggest(name, FILTERS);
      throw new BuildError({ code: 'TB_CLI_USAGE', message: `unknown filter "${name}"`, hint: near ? `did you mean "${near}"? (one of: ${FILTERS.join(', ')})` : `filters: ${FILTERS.join(', ')}` });
    }
    if (eq < 0 || value === '') throw new BuildError({ code: 'TB_CLI_USAGE', message: `filter "${f}" needs a value`, hint: `for example: --filter ${name}=${name === 'until' || name === 'since' ? '24h' : 'VALUE'}` });
    switch (name) {
      case 'until': {
        const t = now - parseDuration(value, `--filter ${f}`);
        return (e) => Date.parse(e.lastUsed) < t;
      }
      case 'since': {
        const t = now - parseDuration(value, `--filter ${f}`);
        return (e) => Date.parse(e.lastUsed) >= t;
      }
      case 'stage':
        return (e) => e.stage === value;
      case 'file':
        return (e) => e.file === value || e.file.endsWith(`/${value}`) || path.resolve(e.file) === path.resolve(value);
      case 'text':
        return (e) => e.text.toLowerCase().includes(value.toLowerCase());
      case 'key':
        return (e) => e.key.startsWith(value) || e.shortKey.startsWith(value.replace(/^sha256:/, ''));
      default:
        if (value !== 'true' && value !== 'false') throw new BuildError({ code: 'TB_CLI_USAGE', message: `invalid value "${value}" for filter inuse`, hint: 'use inuse=true or inuse=false' });
        return (e) => e.images.length > 0 === (value === 'true');
    }
  });
}

/** Total bytes of regular files under `p`, each inode once (hard links within a snapshot). */
export function diskUsage(p: string, seen = new Set<string>()): Promise<number> {
  return storeDiskUsage(p, seen);
}
