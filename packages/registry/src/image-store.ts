import fsSync from 'node:fs';
import { canonicalJson, isDigest } from './digest.ts';
import { parseConfig, parseDocument } from './documents.ts';
import { registryError } from './errors.ts';
import { OCI_CONFIG, OCI_MANIFEST } from './media-types.ts';
import { hostPlatform, selectManifest, formatPlatform } from './platform.ts';
import { familiarRef, formatRef, parseRef } from './reference.ts';
import type { BlobStore } from './store-port.ts';
import type { Descriptor, HistoryEntry, ImageConfig, ImageManifest, Platform } from './types.ts';

/** Store refs naming images are `image:<normalized reference>`; other ref namespaces belong to other packages. */
export const IMAGE_REF_PREFIX = 'image:';

/** Input of putImage: the config JSON and the layer descriptors (blobs already in the store). */
export interface PutImageInput {
  config: ImageConfig;
  layers: Descriptor[];
  /** Exact config bytes to keep (an image loaded from an archive keeps its ID); default canonical JSON of `config`. */
  configBytes?: Buffer;
  annotations?: Record<string, string>;
}

/** A stored image: its manifest (by digest), config and where both came from. */
export interface StoredImage {
  digest: string;
  manifest: ImageManifest;
  manifestBytes: Buffer;
  config: ImageConfig;
  configDigest: string;
}

/** Writes the config and an OCI manifest into the store; layer blobs must already be there. */
export async function putImage(store: BlobStore, input: PutImageInput): Promise<{ manifestDigest: string; configDigest: string; manifest: ImageManifest }> {
  if (input.layers.length !== input.config.rootfs.diff_ids.length) {
    throw new Error(`putImage: ${input.layers.length} layers but ${input.config.rootfs.diff_ids.length} diff_ids`);
  }
  for (const l of input.layers) {
    if (!(await store.hasBlob(l.digest))) throw new Error(`putImage: layer blob ${l.digest} is not in the store`);
  }
  const configBytes = input.configBytes ?? Buffer.from(canonicalJson(input.config));
  const cfg = await store.writeBlob(configBytes);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: cfg.digest, size: cfg.size },
    layers: input.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size, ...(l.annotations ? { annotations: l.annotations } : {}) })),
    ...(input.annotations ? { annotations: input.annotations } : {}),
  };
  const m = await store.writeBlob(Buffer.from(canonicalJson(manifest)));
  return { manifestDigest: m.digest, configDigest: cfg.digest, manifest };
}

/** Reads a manifest (or an index, resolved for `platform`) and its config from the store. */
export async function readImage(store: BlobStore, digest: string, platform?: Platform): Promise<StoredImage> {
  let bytes = await store.readBlob(digest);
  let doc = parseDocument(bytes, `image ${digest}`);
  if (doc.kind === 'index') {
    const want = platform ?? hostPlatform();
    const d = selectManifest(doc.index.manifests, want);
    if (!d || !(await store.hasBlob(d.digest))) {
      throw registryError('TB_REGISTRY_NO_PLATFORM', `image ${digest} has no stored manifest for ${formatPlatform(want)}`);
    }
    digest = d.digest;
    bytes = await store.readBlob(digest);
    doc = parseDocument(bytes, `image ${digest}`);
    if (doc.kind !== 'manifest') throw registryError('TB_REGISTRY_BAD_DOCUMENT', `image ${digest}: nested index`);
  }
  const manifest = doc.manifest;
  const config = parseConfig(await store.readBlob(manifest.config.digest), `image ${digest} config`);
  return { digest, manifest, manifestBytes: bytes, config, configDigest: manifest.config.digest };
}

/**
 * Resolves a name (`busybox`, `127.0.0.1:5000/a:1`), `name@sha256:…`, a manifest digest or an
 * image ID (config digest) to the manifest digest stored for it; undefined when unknown.
 */
export async function resolveLocal(store: BlobStore, refOrDigest: string): Promise<string | undefined> {
  if (isDigest(refOrDigest)) {
    if (await store.hasBlob(refOrDigest)) {
      // A manifest or index is itself the answer: only an image ID (a config digest) needs the
      // scan of every tag below, which every build paid for each base image.
      if (await isImageDocument(store, refOrDigest)) return refOrDigest;
      const refs = await imageRefs(store);
      if (refs.some((r) => r.digest === refOrDigest)) return refOrDigest;
      // An image ID is a config digest: find a tagged manifest using it.
      for (const r of refs) {
        const img = await readImage(store, r.digest).catch(() => undefined);
        if (img?.configDigest === refOrDigest) return img.digest;
      }
      return refOrDigest;
    }
    return undefined;
  }
  const ref = parseRef(refOrDigest);
  if (ref.digest) return (await store.hasBlob(ref.digest)) ? ref.digest : undefined;
  return store.getRef(IMAGE_REF_PREFIX + formatRef(ref));
}

async function isImageDocument(store: BlobStore, digest: string): Promise<boolean> {
  try {
    // Documents are small: a layer is never read whole here.
    // Synchronous, as the store's own small reads (@tbuild/cache, fs-util.ts).
    if (fsSync.statSync(store.blobPath(digest)).size > MAX_DOCUMENT_PEEK) return false;
    return parseDocument(await store.readBlob(digest), digest).kind !== undefined;
  } catch {
    return false;
  }
}

const MAX_DOCUMENT_PEEK = 4 << 20;

export async function findImage(store: BlobStore, refOrDigest: string, platform?: Platform): Promise<StoredImage | undefined> {
  const d = await resolveLocal(store, refOrDigest);
  return d ? readImage(store, d, platform) : undefined;
}

/** Like findImage, but a missing image is a user error naming the reference. */
export async function getImage(store: BlobStore, refOrDigest: string, platform?: Platform): Promise<StoredImage> {
  const img = await findImage(store, refOrDigest, platform);
  if (!img) {
    throw registryError('TB_REGISTRY_IMAGE_NOT_FOUND', `image "${refOrDigest}" not found in the local store`, {
      hint: 'pull it first, or check the name with `tbuild images`',
    });
  }
  return img;
}

/** Points the tag `target` at the image `source` (a name or digest). Returns the normalized target. */
export async function tagImage(store: BlobStore, source: string, target: string): Promise<string> {
  const digest = await resolveLocal(store, source);
  if (!digest) throw registryError('TB_REGISTRY_IMAGE_NOT_FOUND', `image "${source}" not found in the local store`);
  const t = parseRef(target);
  if (t.digest) throw registryError('TB_REGISTRY_INVALID_REF', `cannot tag with a digest reference "${target}"`);
  const name = formatRef(t);
  await store.setRef(IMAGE_REF_PREFIX + name, digest);
  return name;
}

/**
 * Removes a tag, or every tag of an image given by digest. Blobs stay: reclaiming them is the
 * cache's garbage collector's job, since layers may be shared with other images.
 */
export async function removeImage(store: BlobStore, refOrDigest: string): Promise<string[]> {
  const removed: string[] = [];
  if (isDigest(refOrDigest)) {
    const digest = await resolveLocal(store, refOrDigest);
    for (const r of await imageRefs(store)) {
      if (r.digest === digest) {
        await store.deleteRef(IMAGE_REF_PREFIX + r.ref);
        removed.push(r.ref);
      }
    }
  } else {
    const name = formatRef(parseRef(refOrDigest));
    if (await store.getRef(IMAGE_REF_PREFIX + name)) {
      await store.deleteRef(IMAGE_REF_PREFIX + name);
      removed.push(name);
    }
  }
  if (removed.length === 0) throw registryError('TB_REGISTRY_IMAGE_NOT_FOUND', `image "${refOrDigest}" not found in the local store`);
  return removed;
}

/** All image tags in the store with the manifest digest each points at. */
export async function imageRefs(store: BlobStore): Promise<{ ref: string; digest: string }[]> {
  return (await store.listRefs())
    .filter((r) => r.name.startsWith(IMAGE_REF_PREFIX))
    .map((r) => ({ ref: r.name.slice(IMAGE_REF_PREFIX.length), digest: r.digest }))
    .sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
}

/** One row of `tbuild images`. */
export interface ImageSummary {
  digest: string;
  id: string;
  tags: string[];
  created?: string;
  /** Sum of the (compressed) layer blob sizes. */
  size: number;
}

export async function listImages(store: BlobStore): Promise<ImageSummary[]> {
  const byDigest = new Map<string, string[]>();
  for (const r of await imageRefs(store)) byDigest.set(r.digest, [...(byDigest.get(r.digest) ?? []), r.ref]);
  const out: ImageSummary[] = [];
  for (const [digest, tags] of byDigest) {
    const img = await readImage(store, digest).catch(() => undefined);
    if (!img) continue;
    out.push({ digest, id: img.configDigest, tags, created: img.config.created, size: img.manifest.layers.reduce((s, l) => s + l.size, 0) });
  }
  return out;
}

/** The shape of `docker image inspect` for one image, limited to what a tbuild store knows. */
export async function inspectImage(store: BlobStore, refOrDigest: string): Promise<Record<string, unknown>> {
  const img = await getImage(store, refOrDigest);
  const tags = (await imageRefs(store)).filter((r) => r.digest === img.digest).map((r) => familiarRef(parseRef(r.ref)));
  const c = img.config;
  return {
    Id: img.configDigest,
    RepoTags: tags,
    RepoDigests: tags.map((t) => `${t.replace(/:[^:/]+$/, '')}@${img.digest}`),
    Parent: '',
    Comment: '',
    Created: c.created ?? '',
    Author: c.author ?? '',
    Config: c.config ?? {},
    Architecture: c.architecture,
    ...(c.variant ? { Variant: c.variant } : {}),
    Os: c.os,
    Size: img.manifest.layers.reduce((s, l) => s + l.size, 0),
    RootFS: { Type: 'layers', Layers: c.rootfs.diff_ids },
    Descriptor: { mediaType: img.manifest.mediaType, digest: img.digest, size: img.manifestBytes.length },
  };
}

/** One row of `docker history`, newest first; `id` is the image digest on the top row only. */
export interface HistoryRow {
  id: string;
  created?: string;
  createdBy: string;
  size: number;
  comment: string;
  emptyLayer: boolean;
}

export async function imageHistory(store: BlobStore, refOrDigest: string): Promise<HistoryRow[]> {
  const img = await getImage(store, refOrDigest);
  const history: HistoryEntry[] = img.config.history ?? img.manifest.layers.map(() => ({}));
  const rows: HistoryRow[] = [];
  let layer = 0;
  for (const h of history) {
    const empty = h.empty_layer === true;
    const size = empty ? 0 : (img.manifest.layers[layer++]?.size ?? 0);
    rows.push({ id: '<missing>', created: h.created, createdBy: h.created_by ?? '', size, comment: h.comment ?? '', emptyLayer: empty });
  }
  rows.reverse();
  if (rows[0]) rows[0].id = img.digest;
  return rows;
}
