import type { Store } from '@tbuild/cache';
import { getImage, type Platform, type RegistryClient } from '@tbuild/registry';
import pLimit from 'p-limit';

/**
 * `tbuild pull`: fetches the image and unpacks its layers into snapshots, as `docker pull` does,
 * so the first build or `run` from it starts at once instead of unpacking then.
 */
export async function pullImage(store: Store, client: RegistryClient, ref: string, platform: Platform): Promise<{ digest: string }> {
  const res = await client.pull(store, ref, platform);
  const img = await getImage(store, res.digest, platform);
  const limit = pLimit(4);
  await Promise.all(
    img.manifest.layers.map((l, i) => limit(() => store.ensureSnapshot({ digest: l.digest, mediaType: l.mediaType, diffId: img.config.rootfs.diff_ids[i]! }))),
  );
  return { digest: res.digest };
}
