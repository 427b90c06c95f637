import type { Store } from '@tbuild/cache';
import { uniqueLowers } from '@tbuild/executor';
import type { StoredImage } from '@tbuild/registry';

/**
 * The image's unpacked layer snapshots, top-most first as overlay wants them, each once. Each layer is
 * unpacked once into the store and shared by every container and build that uses it: a
 * container's root is these dirs plus its own upper dir, never a copy.
 */
export async function imageLowers(store: Store, image: StoredImage): Promise<string[]> {
  const diffIds = image.config.rootfs.diff_ids;
  const layers = image.manifest.layers;
  if (layers.length !== diffIds.length) throw new Error(`image ${image.digest}: ${layers.length} layers but ${diffIds.length} diff_ids`);
  const dirs: string[] = [];
  for (let i = 0; i < layers.length; i++) {
    dirs.push(await store.ensureSnapshot({ digest: layers[i]!.digest, diffId: diffIds[i]!, mediaType: layers[i]!.mediaType }));
  }
  // A layer twice in the image (two steps that made the same change) is one lower.
  return uniqueLowers(dirs.reverse());
}
