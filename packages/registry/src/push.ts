import { registryError } from './errors.ts';
import { getImage, imageRefs } from './image-store.ts';
import { mapLimit } from './map-limit.ts';
import { formatRef, parseRef } from './reference.ts';
import type { RegistryClient } from './registry-client.ts';
import type { RepoContext } from './scopes.ts';
import { uploadBlob, type UploadOutcome } from './blob-upload.ts';
import type { BlobStore } from './store-port.ts';

/** What a push did: the manifest digest and how each blob got there. */
export interface PushResult {
  ref: string;
  digest: string;
  blobs: Record<string, UploadOutcome>;
}

/**
 * Pushes the local image `localRef` as `remoteRef`: blobs first (HEAD, mount, upload), the
 * manifest last, byte for byte as stored so the remote digest equals the local one.
 */
export async function pushImage(client: RegistryClient, store: BlobStore, localRef: string, remoteRef = localRef): Promise<PushResult> {
  const img = await getImage(store, localRef);
  const target = parseRef(remoteRef);
  const ctx: RepoContext = { registry: target.registry, repository: target.repository };
  // Repositories of the same registry that hold this image (its other tags) are mount sources.
  const local = (await imageRefs(store)).filter((r) => r.digest === img.digest).map((r) => parseRef(r.ref));
  const sameRegistry = local.filter((r) => r.registry === ctx.registry && r.repository !== ctx.repository).map((r) => r.repository);
  const blobs: Record<string, UploadOutcome> = {};
  await mapLimit([img.manifest.config, ...img.manifest.layers], client.concurrency, async (d) => {
    if (!(await store.hasBlob(d.digest))) {
      throw registryError('TB_REGISTRY_IMAGE_NOT_FOUND', `image "${localRef}" is incomplete: blob ${d.digest} is missing from the local store`);
    }
    const known = [...(client.knownBlobs.get(d.digest) ?? [])]
      .filter((k) => k.startsWith(ctx.registry + '/'))
      .map((k) => k.slice(ctx.registry.length + 1))
      .filter((repo) => repo !== ctx.repository);
    blobs[d.digest] = await uploadBlob(client, ctx, d, store, [...new Set([...known, ...sameRegistry])]);
  });
  const digest = await client.putManifest(ctx, target.digest ?? target.tag!, img.manifestBytes, img.manifest.mediaType);
  if (target.digest && target.digest !== digest) {
    throw registryError('TB_REGISTRY_DIGEST_MISMATCH', `cannot push "${localRef}" as ${formatRef(target)}: its manifest digest is ${digest}`);
  }
  return { ref: formatRef(target), digest, blobs };
}
