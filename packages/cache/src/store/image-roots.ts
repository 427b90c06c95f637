import fs from 'node:fs/promises';
import { isSha256Digest } from '../digest.ts';
import type { Store } from '../store.ts';

const MAX_DOC = 16 * 1024 * 1024;
const MAX_DEPTH = 8;

/**
 * Blobs and snapshots an image ref keeps alive: the manifest (or index and its manifests), the
 * config, the layers, and the snapshots of the config's diff_ids. Missing or corrupt documents
 * end the walk quietly: gc must not fail because a ref is broken (verify reports that).
 */
export async function collectImageRoots(store: Store, digest: string, blobs: Set<string>, diffIds: Set<string>, depth = 0): Promise<void> {
  if (!isSha256Digest(digest) || blobs.has(digest) || depth > MAX_DEPTH) return;
  blobs.add(digest);
  const doc = await readJson(store, digest);
  if (!doc) return;
  const manifests = doc.manifests;
  if (Array.isArray(manifests)) {
    for (const m of manifests) await collectImageRoots(store, (m as { digest?: string })?.digest ?? '', blobs, diffIds, depth + 1);
  }
  const config = (doc.config as { digest?: unknown } | undefined)?.digest;
  if (isSha256Digest(config)) {
    blobs.add(config);
    const cfg = await readJson(store, config);
    const ids = (cfg?.rootfs as { diff_ids?: unknown } | undefined)?.diff_ids;
    if (Array.isArray(ids)) for (const id of ids) if (isSha256Digest(id)) diffIds.add(id);
  }
  if (Array.isArray(doc.layers)) {
    for (const l of doc.layers) {
      const d = (l as { digest?: unknown })?.digest;
      if (isSha256Digest(d)) blobs.add(d);
    }
  }
}

async function readJson(store: Store, digest: string): Promise<Record<string, unknown> | undefined> {
  try {
    const { size } = await fs.stat(store.blobPath(digest));
    if (size > MAX_DOC) return undefined;
    const v = JSON.parse((await store.readBlob(digest)).toString()) as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
