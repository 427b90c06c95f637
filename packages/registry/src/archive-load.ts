import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path/posix';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import { parseConfig, parseDocument } from './documents.ts';
import { registryError } from './errors.ts';
import { IMAGE_REF_PREFIX, putImage } from './image-store.ts';
import { isGzipLayer, OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD } from './media-types.ts';
import { hostPlatform, selectManifest } from './platform.ts';
import { formatRef, parseRef } from './reference.ts';
import type { BlobStore } from './store-port.ts';
import type { Descriptor, ImageConfig } from './types.ts';

/** Metadata files up to this size are kept in memory; anything larger must be a layer. */
const SMALL_FILE = 8 * 1024 * 1024;
/** All metadata files together; an archive with more is hostile (security.md #16). */
const SMALL_TOTAL = 64 * 1024 * 1024;
const BLOB_NAME = /^blobs\/sha256\/([a-f0-9]{64})$/;

/** One image a load stored: its manifest digest, image ID and the tags it now has. */
export interface LoadedImage {
  digest: string;
  configDigest: string;
  tags: string[];
}

function bad(msg: string): never {
  throw registryError('TB_REGISTRY_BAD_ARCHIVE', `image archive: ${msg}`);
}

/**
 * Loads an image archive: an OCI image layout (Docker 25+ `docker save`, or saveArchive's
 * output) or an older `docker save` (manifest.json with `<id>/layer.tar`), optionally gzipped.
 * Every blob is checked against its name or descriptor and every uncompressed layer against
 * the config's diff_ids before any tag is set.
 */
export async function loadArchive(store: BlobStore, input: Readable | string): Promise<LoadedImage[]> {
  const entries = await readEntries(store, typeof input === 'string' ? fs.createReadStream(input) : input);
  const index = entries.small.get('index.json');
  const images = entries.small.has('oci-layout') && index ? await loadLayout(store, entries, index) : await loadDockerSave(store, entries);
  if (images.length === 0) bad('contains no image');
  return images;
}

interface Entries {
  small: Map<string, Buffer>;
  /** Large non-blob files (legacy layer.tar), already written to the store. */
  stored: Map<string, { digest: string; size: number }>;
  links: Map<string, string>;
}

async function readEntries(store: BlobStore, input: Readable): Promise<Entries> {
  const small = new Map<string, Buffer>();
  const stored = new Map<string, { digest: string; size: number }>();
  const links = new Map<string, string>();
  let smallBytes = 0;
  const extract = tar.extract();
  const feeding = pipeline(await maybeGunzip(input), extract);
  feeding.catch(() => undefined);
  try {
    for await (const entry of extract) {
      const h = entry.header;
      const name = path.normalize(h.name).replace(/^(\.\/)+/, '').replace(/\/$/, '');
      if (name.startsWith('../') || name.startsWith('/')) bad(`entry "${h.name}" escapes the archive root`);
      if (h.type === 'symlink' || h.type === 'link') {
        links.set(name, h.type === 'symlink' ? path.normalize(path.join(path.dirname(name), h.linkname ?? '')) : path.normalize(h.linkname ?? ''));
      } else if (h.type === 'file' || h.type === 'contiguous-file') {
        const m = BLOB_NAME.exec(name);
        if (m) {
          await storeEntry(store, entry as unknown as AsyncIterable<Buffer>, `sha256:${m[1]}`, h.size ?? 0);
          continue;
        }
        if ((h.size ?? 0) <= SMALL_FILE) {
          smallBytes += h.size ?? 0;
          if (smallBytes > SMALL_TOTAL) bad(`metadata files exceed ${SMALL_TOTAL >> 20} MiB`);
          const chunks: Buffer[] = [];
          for await (const c of entry) chunks.push(c as Buffer);
          small.set(name, Buffer.concat(chunks));
          continue;
        }
        stored.set(name, await storeEntry(store, entry as unknown as AsyncIterable<Buffer>, undefined, h.size ?? 0));
        continue;
      }
      entry.resume();
    }
    await feeding;
  } catch (e) {
    if ((e as { code?: string }).code?.startsWith('TB_')) throw e;
    bad(`cannot read tar: ${(e as Error).message}`);
  }
  return { small, stored, links };
}

/** Streams one entry into the store; with `digest`, a mismatch rejects the archive. */
async function storeEntry(store: BlobStore, entry: AsyncIterable<Buffer>, digest: string | undefined, size: number): Promise<{ digest: string; size: number }> {
  if (digest && (await store.hasBlob(digest))) {
    for await (const _ of entry) void _;
    return { digest, size };
  }
  const w = store.blobWriter();
  const hash = createHash('sha256');
  try {
    for await (const c of entry) {
      hash.update(c);
      await w.write(c);
    }
    const got = 'sha256:' + hash.digest('hex');
    if (digest && got !== digest) bad(`blob ${digest} has content with digest ${got}`);
    return await w.commit({ digest: got, size });
  } catch (e) {
    await w.abort().catch(() => undefined);
    throw e;
  }
}

async function maybeGunzip(input: Readable): Promise<Readable> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first = await it.next();
  async function* all(): AsyncGenerator<Buffer> {
    if (!first.done) yield first.value;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  const src = Readable.from(all());
  if (!first.done && first.value[0] === 0x1f && first.value[1] === 0x8b) return src.pipe(zlib.createGunzip());
  return src;
}

async function loadLayout(store: BlobStore, e: Entries, indexBytes: Buffer): Promise<LoadedImage[]> {
  const doc = parseDocument(indexBytes, 'image archive index.json');
  if (doc.kind !== 'index') bad('index.json is not an image index');
  // manifest.json's RepoTags (Docker's own naming) complement index annotations.
  const repoTags = new Map<string, string[]>();
  for (const m of parseDockerManifest(e.small.get('manifest.json'))) {
    const cfg = BLOB_NAME.exec(resolveLink(e, m.Config))?.[1];
    if (cfg) repoTags.set(`sha256:${cfg}`, [...(repoTags.get(`sha256:${cfg}`) ?? []), ...(m.RepoTags ?? [])]);
  }
  const out = new Map<string, LoadedImage>();
  for (const desc of doc.index.manifests) {
    const found = await resolveManifest(store, desc);
    if (!found) continue;
    const img = out.get(found.digest) ?? { digest: found.digest, configDigest: found.configDigest, tags: [] };
    const name = desc.annotations?.['io.containerd.image.name'] ?? desc.annotations?.['org.opencontainers.image.ref.name'];
    const tags = [...(repoTags.get(found.configDigest) ?? [])];
    if (name && /[/:]/.test(name)) tags.push(name);
    for (const t of tags) img.tags.push(formatRef(parseRef(t)));
    out.set(found.digest, img);
  }
  for (const img of out.values()) {
    img.tags = [...new Set(img.tags)];
    for (const t of img.tags) await store.setRef(IMAGE_REF_PREFIX + t, img.digest);
  }
  return [...out.values()];
}

/** Follows an index entry to an image manifest whose blobs are all in the archive (or store). */
async function resolveManifest(store: BlobStore, desc: Descriptor, depth = 0): Promise<{ digest: string; configDigest: string } | undefined> {
  if (depth > 4) bad('indexes nested more than 4 deep');
  if (!(await store.hasBlob(desc.digest))) bad(`index.json names ${desc.digest}, which the archive does not contain`);
  const doc = parseDocument(await store.readBlob(desc.digest), `image archive manifest ${desc.digest}`);
  if (doc.kind === 'index') {
    const choice = selectManifest(doc.index.manifests, hostPlatform()) ?? doc.index.manifests.find((m) => m.platform);
    return choice ? resolveManifest(store, choice, depth + 1) : undefined;
  }
  const m = doc.manifest;
  for (const b of [m.config, ...m.layers]) {
    if (!(await store.hasBlob(b.digest))) bad(`manifest ${desc.digest} needs blob ${b.digest}, which the archive does not contain`);
  }
  const config = parseConfig(await store.readBlob(m.config.digest), `image archive config ${m.config.digest}`);
  await checkDiffIds(store, config, m.layers);
  return { digest: desc.digest, configDigest: m.config.digest };
}

interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

function parseDockerManifest(bytes: Buffer | undefined): DockerManifestEntry[] {
  if (!bytes) return [];
  let j: unknown;
  try {
    j = JSON.parse(bytes.toString('utf8'));
  } catch {
    bad('manifest.json is not valid JSON');
  }
  if (!Array.isArray(j) || !j.every((m: DockerManifestEntry) => m && typeof m.Config === 'string' && Array.isArray(m.Layers) && m.Layers.every((l) => typeof l === 'string'))) {
    bad('manifest.json is not a list of {Config, RepoTags, Layers}');
  }
  return j as DockerManifestEntry[];
}

function resolveLink(e: Entries, name: string): string {
  let n = path.normalize(name).replace(/^(\.\/)+/, '');
  for (let i = 0; i < 16 && e.links.has(n); i++) n = e.links.get(n)!;
  return n;
}

/** Where the bytes of an archive member ended up in the store. */
async function blobOf(store: BlobStore, e: Entries, name: string): Promise<{ digest: string; size: number }> {
  const n = resolveLink(e, name);
  const m = BLOB_NAME.exec(n);
  if (m && (await store.hasBlob(`sha256:${m[1]}`))) return { digest: `sha256:${m[1]}`, size: (await fs.promises.stat(store.blobPath(`sha256:${m[1]}`))).size };
  const s = e.stored.get(n);
  if (s) return s;
  const b = e.small.get(n);
  if (b) return store.writeBlob(b);
  return bad(`manifest.json names "${name}", which the archive does not contain`);
}

async function loadDockerSave(store: BlobStore, e: Entries): Promise<LoadedImage[]> {
  const entries = parseDockerManifest(e.small.get('manifest.json'));
  if (!e.small.has('manifest.json')) bad('neither an OCI image layout (oci-layout, index.json) nor a docker save archive (manifest.json)');
  const out: LoadedImage[] = [];
  for (const m of entries) {
    const cfgBlob = await blobOf(store, e, m.Config);
    const configBytes = await store.readBlob(cfgBlob.digest);
    const config = parseConfig(configBytes, `image archive ${m.Config}`);
    if (config.rootfs.diff_ids.length !== m.Layers.length) bad(`${m.Config} lists ${config.rootfs.diff_ids.length} diff_ids but manifest.json ${m.Layers.length} layers`);
    const layers: Descriptor[] = [];
    for (const l of m.Layers) {
      const b = await blobOf(store, e, l);
      layers.push({ mediaType: (await isGzipFile(store.blobPath(b.digest))) ? OCI_LAYER_GZIP : OCI_LAYER, digest: b.digest, size: b.size });
    }
    await checkDiffIds(store, config, layers);
    const put = await putImage(store, { config, layers, configBytes });
    const tags = (m.RepoTags ?? []).map((t) => formatRef(parseRef(t)));
    for (const t of tags) await store.setRef(IMAGE_REF_PREFIX + t, put.manifestDigest);
    out.push({ digest: put.manifestDigest, configDigest: put.configDigest, tags });
  }
  return out;
}

async function isGzipFile(file: string): Promise<boolean> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const b = Buffer.alloc(2);
    const { bytesRead } = await fh.read(b, 0, 2, 0);
    return bytesRead === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** The uncompressed digest of every layer must be the config's diff_id (security.md #17). */
async function checkDiffIds(store: BlobStore, config: ImageConfig, layers: Descriptor[]): Promise<void> {
  if (config.rootfs.diff_ids.length !== layers.length) bad(`config lists ${config.rootfs.diff_ids.length} diff_ids for ${layers.length} layers`);
  for (const [i, l] of layers.entries()) {
    const want = config.rootfs.diff_ids[i]!;
    // Node has no zstd decoder; such layers are checked when the executor extracts them.
    if (l.digest === want || l.mediaType === OCI_LAYER_ZSTD) continue;
    if (!isGzipLayer(l.mediaType)) bad(`layer ${l.digest} does not match diff_id ${want}`);
    const hash = createHash('sha256');
    await pipeline(fs.createReadStream(store.blobPath(l.digest)), zlib.createGunzip(), async function* (src: AsyncIterable<Buffer>) {
      for await (const c of src) hash.update(c);
    }).catch((err: Error) => bad(`layer ${l.digest} is not valid gzip: ${err.message}`));
    const got = 'sha256:' + hash.digest('hex');
    if (got !== want) bad(`layer ${l.digest} uncompresses to ${got}, but the config says ${want}`);
  }
}
