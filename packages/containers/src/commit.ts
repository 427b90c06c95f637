import { diffUpperToLayer } from '@tbuild/executor';
import { normalizeRef, OCI_LAYER_GZIP, putImage, readImage, tagImage, type Descriptor, type HistoryEntry, type ImageConfig } from '@tbuild/registry';
import { applyChanges } from './commit-changes.ts';
import type { ContainerStore } from './container-store.ts';
import { imageLowers } from './image-layers.ts';
import { RuncControl } from './runc.ts';
import { reconcileState } from './state.ts';

export interface CommitOptions {
  /** `IMAGE[:TAG]` to tag the result with. */
  ref?: string;
  /** `-c` Dockerfile instructions applied to the config. */
  changes?: string[];
  message?: string;
  author?: string;
  /** Freeze a running container while its upper dir is read (docker's default). Default true. */
  pause?: boolean;
}

export interface CommitResult {
  /** Image ID (config digest), what docker commit prints. */
  id: string;
  /** Manifest digest. */
  digest: string;
  /** The normalized tag, when `ref` was given. */
  ref?: string;
  /** The new layer; absent when the container changed nothing. */
  layer?: Descriptor & { diffId: string };
}

/**
 * docker commit: the container's upper dir becomes one layer on top of its image, written by
 * the same differ builds use (with the image's snapshots and the init layer as lowers, so
 * copied-up but unchanged dirs and the runtime's mount points stay out). The config is the
 * container's effective config (its run overrides included) with `changes` applied; history
 * gains one entry. The image is an ordinary stored image: it runs, saves and pushes like a
 * built one. A container that changed nothing yields an empty-layer history entry, as in builds.
 */
export async function commitContainer(cs: ContainerStore, idOrName: string, o: CommitOptions = {}): Promise<CommitResult> {
  const rec = cs.resolve(idOrName);
  const p = cs.paths(rec.id);
  const image = await readImage(cs.store, rec.image.digest);
  const lowers = [p.init, ...(await imageLowers(cs.store, image))];
  const state = await reconcileState(cs, rec);
  const control = new RuncControl(p.runtime);
  const paused = state.status === 'running' && state.runcId && (o.pause ?? true) ? state.runcId : undefined;
  if (paused) await control.pause(paused);
  let layer: CommitResult['layer'];
  // The new layer blob is unreferenced until putImage/tagImage: keep gc off it meanwhile.
  let release: (() => Promise<void>) | undefined;
  try {
    const writer = cs.store.blobWriter();
    let diff;
    try {
      diff = await diffUpperToLayer(p.upper, writer, { compression: 'gzip', lowers, index: false, blobDigest: false });
    } catch (e) {
      await writer.abort();
      throw e;
    } finally {
      if (paused) await control.resume(paused).catch(() => undefined);
    }
    if (diff.empty) await writer.abort();
    else {
      const blob = await writer.commit({ size: diff.size });
      release = await cs.store.lease([blob.digest]);
      layer = { mediaType: OCI_LAYER_GZIP, digest: blob.digest, size: blob.size, diffId: diff.diffId };
    }
    const created = new Date().toISOString();
    const cfg = applyChanges(rec.config, o.changes ?? []);
    delete cfg.Hostname;
    const h: HistoryEntry = { created, created_by: [rec.path, ...rec.args].join(' ') };
    if (o.message) h.comment = o.message;
    if (o.author) h.author = o.author;
    if (!layer) h.empty_layer = true;
    const config: ImageConfig = {
      ...image.config,
      created,
      config: cfg,
      rootfs: { type: 'layers', diff_ids: [...image.config.rootfs.diff_ids, ...(layer ? [layer.diffId] : [])] },
      history: [...(image.config.history ?? []), h],
    };
    if (o.author) config.author = o.author;
    else delete config.author;
    const layers: Descriptor[] = [...image.manifest.layers, ...(layer ? [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }] : [])];
    const put = await putImage(cs.store, { config, layers });
    const result: CommitResult = { id: put.configDigest, digest: put.manifestDigest, ...(layer ? { layer } : {}) };
    if (o.ref) result.ref = await tagImage(cs.store, put.manifestDigest, normalizeRef(o.ref));
    return result;
  } finally {
    await release?.();
  }
}
