import { parseConfig } from './documents.ts';
import { registryError, where } from './errors.ts';
import { IMAGE_REF_PREFIX } from './image-store.ts';
import { mapLimit } from './map-limit.ts';
import { formatPlatform, hostPlatform, selectManifest } from './platform.ts';
import { formatRef, parseRef } from './reference.ts';
import type { RegistryClient } from './registry-client.ts';
import type { RepoContext } from './scopes.ts';
import type { BlobStore } from './store-port.ts';
import type { Descriptor, ImageConfig, ImageManifest, Platform } from './types.ts';

/** What a pull stored: the platform manifest's digest (and the index's, when there was one). */
export interface PullResult {
  ref: string;
  digest: string;
  indexDigest?: string;
  config: ImageConfig;
  configDigest: string;
  manifest: ImageManifest;
}

/**
 * Pulls `ref` for `platform` (default: the host's) into the store: manifest (through an index
 * if needed), config and layers, skipping blobs the store already has, every one verified.
 * Documents are written last so a stored manifest always has all its blobs; then the tag (or
 * `name@digest`) ref points at the platform manifest.
 */
export async function pullImage(client: RegistryClient, store: BlobStore, refString: string, platform: Platform = hostPlatform()): Promise<PullResult> {
  const ref = parseRef(refString);
  const ctx: RepoContext = { registry: ref.registry, repository: ref.repository };
  let got = await client.getManifest(ctx, ref.digest ?? ref.tag!);
  const documents: { bytes: Buffer; digest: string }[] = [got];
  let indexDigest: string | undefined;
  for (let depth = 0; got.doc.kind === 'index'; depth++) {
    if (depth >= 4) throw registryError('TB_REGISTRY_BAD_DOCUMENT', `${where(ctx.registry, ctx.repository)}: indexes nested more than 4 deep`);
    indexDigest ??= got.digest;
    const choice: Descriptor | undefined = selectManifest(got.doc.index.manifests, platform);
    if (!choice) {
      const have = got.doc.index.manifests.filter((m) => m.platform).map((m) => formatPlatform(m.platform!));
      throw registryError('TB_REGISTRY_NO_PLATFORM', `${where(ctx.registry, ctx.repository)}: "${formatRef(ref)}" has no image for ${formatPlatform(platform)}`, {
        hint: have.length ? `available: ${[...new Set(have)].join(', ')}` : undefined,
      });
    }
    got = await client.getManifest(ctx, choice.digest);
    documents.push(got);
  }
  if (got.doc.kind !== 'manifest') throw new Error('unreachable: index loop ended on an index');
  const manifest = got.doc.manifest;
  const blobs = [manifest.config, ...manifest.layers];
  // Keep the store's garbage collector off these blobs until the tag below references them.
  const release = await store.lease?.([...documents.map((d) => d.digest), ...blobs.map((b) => b.digest)]);
  try {
    await mapLimit(blobs, client.concurrency, async (d) => {
      if (await store.hasBlob(d.digest)) return;
      await client.fetchBlob(ctx, d, store);
    });
    for (const d of blobs) client.remember(d.digest, ctx);
    const config = parseConfig(await store.readBlob(manifest.config.digest), `${where(ctx.registry, ctx.repository)}: config ${manifest.config.digest}`);
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw registryError('TB_REGISTRY_BAD_DOCUMENT', `${where(ctx.registry, ctx.repository)}: manifest has ${manifest.layers.length} layers but the config lists ${config.rootfs.diff_ids.length} diff_ids`);
    }
    for (const doc of documents.reverse()) await store.writeBlob(doc.bytes, { digest: doc.digest, size: doc.bytes.length });
    await store.setRef(IMAGE_REF_PREFIX + formatRef(ref), got.digest);
    return { ref: formatRef(ref), digest: got.digest, ...(indexDigest ? { indexDigest } : {}), config, configDigest: manifest.config.digest, manifest };
  } finally {
    await release?.();
  }
}
