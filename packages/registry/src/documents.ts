import { assertDigest } from './digest.ts';
import { registryError } from './errors.ts';
import { isIndexMediaType, isManifestMediaType, OCI_INDEX, OCI_MANIFEST } from './media-types.ts';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from './types.ts';

/** Manifests and indexes larger than this are refused (security.md hostile input 50). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** An index with more entries than this is refused rather than walked. */
export const MAX_INDEX_ENTRIES = 1024;

/** A parsed manifest or index; which one is decided by mediaType (or structure when absent). */
export type ParsedDocument = { kind: 'manifest'; manifest: ImageManifest } | { kind: 'index'; index: ImageIndex };

function bad(what: string, why: string): never {
  throw registryError('TB_REGISTRY_BAD_DOCUMENT', `${what}: ${why}`);
}

function checkDescriptor(d: unknown, what: string): Descriptor {
  if (!d || typeof d !== 'object') bad(what, 'descriptor is not an object');
  const x = d as Descriptor;
  if (typeof x.mediaType !== 'string') bad(what, 'descriptor without mediaType');
  assertDigest(x.digest, what);
  if (!Number.isSafeInteger(x.size) || x.size < 0) bad(what, `descriptor ${x.digest} has an invalid size`);
  return x;
}

/**
 * Parses a manifest or index and checks what the rest of tbuild relies on: a known mediaType
 * that agrees with `contentType` when the registry sent one, and never both `manifests` and
 * `layers`/`config` (CVE-2021-41190: such a document means different things to different readers).
 */
export function parseDocument(bytes: Buffer, what: string, contentType?: string): ParsedDocument {
  if (bytes.length > MAX_MANIFEST_BYTES) {
    throw registryError('TB_REGISTRY_TOO_LARGE', `${what}: document of ${bytes.length} bytes exceeds the 4 MiB limit`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    bad(what, `not valid JSON (${(e as Error).message})`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) bad(what, 'not a JSON object');
  const hasManifests = 'manifests' in doc;
  const hasImage = 'layers' in doc || 'config' in doc;
  if (hasManifests && hasImage) bad(what, 'document has both "manifests" and "layers"/"config" (ambiguous, CVE-2021-41190)');
  if (doc.schemaVersion !== 2) bad(what, `unsupported schemaVersion ${JSON.stringify(doc.schemaVersion)} (only schema 2 images are supported)`);
  const ct = contentType?.split(';')[0]?.trim().toLowerCase();
  let mt = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  if (mt && ct && ct !== mt && ct !== 'application/json' && ct !== 'application/octet-stream') {
    bad(what, `mediaType "${mt}" does not match Content-Type "${ct}"`);
  }
  // OCI allows omitting mediaType; the structure (or the Content-Type) then decides.
  mt ??= ct && (isIndexMediaType(ct) || isManifestMediaType(ct)) ? ct : hasManifests ? OCI_INDEX : OCI_MANIFEST;
  if (isIndexMediaType(mt)) {
    if (!hasManifests || !Array.isArray(doc.manifests)) bad(what, 'index without a "manifests" array');
    const manifests = doc.manifests as unknown[];
    if (manifests.length > MAX_INDEX_ENTRIES) {
      throw registryError('TB_REGISTRY_TOO_LARGE', `${what}: index has ${manifests.length} entries (limit ${MAX_INDEX_ENTRIES})`);
    }
    manifests.forEach((m, i) => checkDescriptor(m, `${what} manifests[${i}]`));
    return { kind: 'index', index: { ...(doc as unknown as ImageIndex), mediaType: mt } };
  }
  if (isManifestMediaType(mt)) {
    checkDescriptor(doc.config, `${what} config`);
    if (!Array.isArray(doc.layers)) bad(what, 'manifest without a "layers" array');
    (doc.layers as unknown[]).forEach((l, i) => checkDescriptor(l, `${what} layers[${i}]`));
    return { kind: 'manifest', manifest: { ...(doc as unknown as ImageManifest), mediaType: mt } };
  }
  if (mt === 'application/vnd.docker.distribution.manifest.v1+prettyjws' || mt === 'application/vnd.docker.distribution.manifest.v1+json') {
    bad(what, 'Docker schema 1 manifests are not supported (deprecated since 2017)');
  }
  return bad(what, `unsupported mediaType "${mt}"`);
}

/** Parses an image config and checks the fields tbuild uses (rootfs.diff_ids, os, architecture). */
export function parseConfig(bytes: Buffer, what: string): ImageConfig {
  let c: ImageConfig;
  try {
    c = JSON.parse(bytes.toString('utf8')) as ImageConfig;
  } catch (e) {
    bad(what, `config is not valid JSON (${(e as Error).message})`);
  }
  if (!c || typeof c !== 'object' || !c.rootfs || !Array.isArray(c.rootfs.diff_ids)) bad(what, 'config without rootfs.diff_ids');
  c.rootfs.diff_ids.forEach((d, i) => assertDigest(d, `${what} rootfs.diff_ids[${i}]`));
  if (typeof c.os !== 'string' || typeof c.architecture !== 'string') bad(what, 'config without os/architecture');
  return c;
}
