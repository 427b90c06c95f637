import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import tar from 'tar-stream';
import { canonicalJson, digestHex, isDigest } from './digest.ts';
import { getImage, type StoredImage } from './image-store.ts';
import { OCI_INDEX } from './media-types.ts';
import { familiarName, familiarRef, formatRef, parseRef } from './reference.ts';
import { assertBlobIntact, type BlobStore } from './store-port.ts';
import type { Descriptor } from './types.ts';

const EPOCH = new Date(0);

/**
 * Writes one tar that is both an OCI image layout (oci-layout, index.json, blobs/sha256/…)
 * and a `docker save` archive (manifest.json + repositories pointing into blobs/), like
 * Docker 25+. Blobs are written as stored (layers stay compressed); `docker load` decompresses
 * layers itself. Refs may be names or digests; names become RepoTags and index annotations.
 */
export async function saveArchive(store: BlobStore, refs: string[], out: Writable | string): Promise<void> {
  const images = new Map<string, { img: StoredImage; tags: string[] }>();
  for (const r of refs) {
    const img = await getImage(store, r);
    const entry = images.get(img.digest) ?? { img, tags: [] };
    if (!isDigest(r)) {
      const ref = parseRef(r);
      if (!ref.digest) entry.tags.push(formatRef(ref));
    }
    images.set(img.digest, entry);
  }

  const blobs = new Map<string, number>();
  const index: Descriptor[] = [];
  const dockerManifest: { Config: string; RepoTags: string[] | null; Layers: string[] }[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  for (const { img, tags } of images.values()) {
    blobs.set(img.digest, img.manifestBytes.length);
    blobs.set(img.configDigest, img.manifest.config.size);
    for (const l of img.manifest.layers) blobs.set(l.digest, l.size);
    const desc: Descriptor = { mediaType: img.manifest.mediaType, digest: img.digest, size: img.manifestBytes.length };
    if (tags.length === 0) index.push(desc);
    for (const t of tags) {
      const ref = parseRef(t);
      index.push({ ...desc, annotations: { 'io.containerd.image.name': t, 'org.opencontainers.image.ref.name': ref.tag! } });
      (repositories[familiarName(ref)] ??= {})[ref.tag!] = digestHex(img.configDigest);
    }
    dockerManifest.push({
      Config: blobName(img.configDigest),
      RepoTags: tags.length ? tags.map((t) => familiarRef(parseRef(t))) : null,
      Layers: img.manifest.layers.map((l) => blobName(l.digest)),
    });
  }

  const pack = tar.pack();
  const sink = typeof out === 'string' ? fs.createWriteStream(out) : out;
  const done = pipeline(pack, sink);
  try {
    await addBuffer(pack, 'oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
    await addDir(pack, 'blobs/');
    await addDir(pack, 'blobs/sha256/');
    for (const [digest, size] of [...blobs].sort(([a], [b]) => (a < b ? -1 : 1))) {
      await assertBlobIntact(store, digest);
      await addFile(pack, blobName(digest), store.blobPath(digest), size);
    }
    await addBuffer(pack, 'index.json', Buffer.from(canonicalJson({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: index })));
    await addBuffer(pack, 'manifest.json', Buffer.from(JSON.stringify(dockerManifest)));
    if (Object.keys(repositories).length) await addBuffer(pack, 'repositories', Buffer.from(canonicalJson(repositories)));
    pack.finalize();
  } catch (e) {
    pack.destroy(e as Error);
    await done.catch(() => undefined);
    throw e;
  }
  await done;
}

function blobName(digest: string): string {
  return `blobs/sha256/${digestHex(digest)}`;
}

function addBuffer(pack: tar.Pack, name: string, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry({ name, size: data.length, mode: 0o644, mtime: EPOCH }, data, (e) => (e ? reject(e) : resolve()));
  });
}

function addDir(pack: tar.Pack, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry({ name, type: 'directory', mode: 0o755, mtime: EPOCH }, (e) => (e ? reject(e) : resolve()));
  });
}

async function addFile(pack: tar.Pack, name: string, file: string, size: number): Promise<void> {
  const actual = (await fs.promises.stat(file)).size;
  if (actual !== size) throw new Error(`saveArchive: blob ${file} has ${actual} bytes, descriptor says ${size}`);
  await new Promise<void>((resolve, reject) => {
    const entry = pack.entry({ name, size, mode: 0o644, mtime: EPOCH }, (e) => (e ? reject(e) : resolve()));
    pipeline(fs.createReadStream(file), entry).catch(reject);
  });
}
