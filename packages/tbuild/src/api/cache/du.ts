import fs from 'node:fs/promises';
import path from 'node:path';
import { openStore } from '../store.ts';
import { diskUsage, imageLayerDigests, toEntry, viewStore, type CacheEntry } from './entries.ts';

/** One row of `cache du`: how many things of a kind, their bytes, and how many of those a plain `cache prune` frees. */
export interface UsageRow {
  count: number;
  bytes: number;
}

/**
 * Disk usage of a store by kind. Layers and images can share blobs (a cached step's layer is in
 * the image it built), so the rows do not add up; `total` counts every byte once.
 * - layers: layer blobs of cache entries;
 * - images: manifests, configs and layers of tagged images;
 * - snapshots: unpacked layers (overlay lower dirs), rebuilt from blobs when needed;
 * - cacheMounts: `RUN --mount=type=cache` directories;
 * - unreferenced: blobs and snapshots nothing refers to, plus leftovers of dead builds;
 * - reclaimable: what `cache prune` frees now; reclaimableAll: what `cache prune --all` frees.
 */
export interface CacheUsage {
  layers: UsageRow;
  images: UsageRow;
  snapshots: UsageRow;
  cacheMounts: UsageRow;
  unreferenced: UsageRow;
  total: number;
  reclaimable: number;
  reclaimableAll: number;
  /** Largest cache entries first (`--verbose`). */
  largest: CacheEntry[];
}

export async function cacheDu(opts: { root: string; top?: number }): Promise<CacheUsage> {
  const store = await openStore(opts.root);
  const view = await viewStore(store);

  const blobSize = new Map<string, number>();
  for (const name of await fs.readdir(store.dirs.blobs).catch(() => [] as string[])) {
    const st = await fs.stat(path.join(store.dirs.blobs, name)).catch(() => undefined);
    if (st) blobSize.set(`sha256:${name}`, st.size);
  }
  const sizeOf = (digests: Iterable<string>): UsageRow => {
    let count = 0;
    let bytes = 0;
    for (const d of digests) {
      const s = blobSize.get(d);
      if (s === undefined) continue;
      count++;
      bytes += s;
    }
    return { count, bytes };
  };

  const layerDigests = new Set(view.records.flatMap((r) => (r.layer ? [r.layer.digest] : [])));
  const imageBlobs = new Set<string>();
  const refs = await store.listRefs();
  for (const ref of refs) {
    imageBlobs.add(ref.digest);
    for (const d of await imageDocs(store, ref.digest)) imageBlobs.add(d);
    for (const d of await imageLayerDigests(store, ref.digest)) imageBlobs.add(d);
  }

  const snapshots: UsageRow = { count: 0, bytes: 0 };
  let snapshotBytes = 0;
  // Snapshots may share inodes (COPY hard-linked unchanged files in stores of earlier tbuild
  // builds; it moves them now): count each once.
  const seen = new Set<string>();
  for (const name of await fs.readdir(store.dirs.snapshots).catch(() => [] as string[])) {
    const bytes = await diskUsage(path.join(store.dirs.snapshots, name), seen);
    snapshots.count++;
    snapshotBytes += bytes;
  }
  snapshots.bytes = snapshotBytes;

  const cacheMounts: UsageRow = { count: 0, bytes: 0 };
  for (const name of await fs.readdir(store.dirs.mounts).catch(() => [] as string[])) {
    cacheMounts.count++;
    cacheMounts.bytes += await diskUsage(path.join(store.dirs.mounts, name));
  }

  const plain = await store.gc({ dryRun: true });
  const all = await store.gc({ dryRun: true, all: true });
  const tmpBytes = await diskUsage(store.dirs.tmp);
  const unreferenced: UsageRow = { count: plain.removed.filter((r) => !r.startsWith('step:')).length, bytes: plain.freed };

  let blobsTotal = 0;
  for (const s of blobSize.values()) blobsTotal += s;
  const largest = view.records
    .map((r) => toEntry(r, view))
    .sort((a, b) => b.size - a.size || (a.key < b.key ? -1 : 1))
    .slice(0, opts.top ?? 10);
  return {
    layers: sizeOf(layerDigests),
    // Counted as images (distinct manifests), sized by every blob they need.
    images: { count: new Set(refs.map((r) => r.digest)).size, bytes: sizeOf(imageBlobs).bytes },
    snapshots,
    cacheMounts,
    unreferenced,
    total: blobsTotal + snapshotBytes + cacheMounts.bytes + tmpBytes,
    reclaimable: plain.freed,
    reclaimableAll: all.freed,
    largest,
  };
}

/** Manifests and configs of an image (layers come from imageLayerDigests). */
async function imageDocs(store: Awaited<ReturnType<typeof openStore>>, digest: string, depth = 0): Promise<string[]> {
  let doc: { manifests?: Array<{ digest?: string }>; config?: { digest?: string } };
  try {
    doc = JSON.parse((await store.readBlob(digest)).toString()) as typeof doc;
  } catch {
    return [];
  }
  const out: string[] = [];
  if (typeof doc.config?.digest === 'string') out.push(doc.config.digest);
  if (Array.isArray(doc.manifests) && depth < 4) {
    for (const m of doc.manifests) if (m?.digest && (await store.hasBlob(m.digest))) out.push(m.digest, ...(await imageDocs(store, m.digest, depth + 1)));
  }
  return out;
}
