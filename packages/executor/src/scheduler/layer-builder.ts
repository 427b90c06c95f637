import type { BigIntStats } from 'node:fs';
import fs from 'node:fs/promises';
import type { ActiveSnapshot, Snapshotter } from '../snapshot/snapshotter.ts';
import { diffUpperToLayer, type MemberIndex, type MemberSource } from '../layer/index.ts';
import { EarlyView, pinMountDirs, type ParentChain } from './parent-chain.ts';
import type { LayerRef, StorePort } from './ports.ts';

export const LAYER_MEDIA_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip';

export interface LayerBuilderDeps {
  store: StorePort;
  snapshotter: Snapshotter;
  sourceDateEpoch?: number;
}

/** Mounts the layers (bottom first) as a view, for COPY --from and RUN --mount from=; writes to a writable one are thrown away. */
export async function mountLayers(deps: LayerBuilderDeps, layers: LayerRef[], key: string, opts: { readonly: boolean }): Promise<ActiveSnapshot> {
  return deps.snapshotter.prepare({ lowers: await snapshotDirs(deps, layers), key, readonly: opts.readonly });
}

/** The layers' snapshot dirs (unpacked once, then shared), top-most first as overlay wants them. */
async function snapshotDirs(deps: LayerBuilderDeps, layers: LayerRef[]): Promise<string[]> {
  const dirs = await Promise.all(layers.map((l) => deps.store.ensureSnapshot(l)));
  return dirs.reverse();
}

/**
 * A layer's gzip members: `reuse` (which `change` may set) names an earlier blob whose members
 * can be copied; `index` is set to the new blob's members once it is written.
 */
export interface GzipReuse {
  reuse?: MemberSource;
  /** Files moved unchanged from `reuse`'s snapshot, with their lstat (diff-upper's `trusted`). */
  trusted?: ReadonlyMap<string, BigIntStats>;
  /** The caller keeps the blob's member index (a context COPY's donor note): it is put in `index`. */
  keepIndex?: boolean;
  index?: MemberIndex;
}

/**
 * Runs `change` on a writable view over `parent` and turns what it changed into a new layer:
 * the upper dir is diffed into a gzip tar blob in the store and then adopted as that layer's
 * snapshot (no unpacking it again). An empty diff gives no layer. Whatever happens, nothing
 * stays mounted and no partial blob becomes visible.
 *
 * With `early`, the upper dir is offered to the next step as soon as it is unmounted: that step
 * mounts it in the layer's place and runs while the diff goes on (parent-chain.ts). The diff
 * itself waits for the parent's layers to be written, and the step's layer is returned only
 * then, so a record or an image never names a layer that is not in the store.
 */
export async function buildLayer(
  deps: LayerBuilderDeps,
  parent: ParentChain,
  key: string,
  change: (active: ActiveSnapshot) => Promise<void>,
  gz: GzipReuse = {},
  opts: { seal?: boolean; early?: (view: EarlyView) => void } = {},
): Promise<LayerRef | undefined> {
  const { dirs: lowers, pins } = await pinMountDirs(parent, (layers) => snapshotDirs(deps, layers));
  let unpinned = false;
  const unpin = (): void => {
    if (unpinned) return;
    unpinned = true;
    for (const p of pins) p.released();
  };
  let active: ActiveSnapshot;
  try {
    active = await deps.snapshotter.prepare({ lowers, key });
  } catch (e) {
    unpin();
    throw e;
  }
  for (const p of pins) p.mounted();
  let released: Promise<void> | undefined;
  let view: EarlyView | undefined;
  let adopted = false;
  try {
    await change(active);
    if (opts.seal === false && deps.store.adoptUnsealed) {
      // No tar, no gzip: the upper dir itself becomes the layer's snapshot (store/unsealed.ts).
      released = active.release();
      await released;
      unpin();
      if ((await fs.readdir(active.upper)).length === 0) return undefined;
      return await deps.store.adoptUnsealed(active.upper);
    }
    // Unmounting (an exec of umount(8)) runs while the diff reads the upper dir, which nothing
    // writes once the change is done; the upper is only moved into the store after both. Once
    // unmounted, the next step may mount it (never while it is still this overlay's upper dir).
    released = active.release();
    released.catch(() => undefined);
    const early = opts.early;
    void released.then(() => {
      unpin();
      if (!early) return;
      view = new EarlyView(active.upper);
      early(view);
    }, unpin);
    const diffLowers = parent.kind === 'final' ? lowers : await snapshotDirs(deps, await parent.layers);
    const made = await diffIntoBlob(deps, active.upper, diffLowers, { reuse: gz.reuse, trusted: gz.trusted, index: gz.keepIndex === true });
    await released;
    if (!made) return undefined;
    gz.index = made.members;
    const v = view as EarlyView | undefined;
    await v?.close();
    await deps.store.adoptSnapshot(made.layer.diffId, active.upper, v ? { removeAfter: v.unused() } : undefined);
    adopted = true;
    return made.layer;
  } finally {
    await released?.catch(() => undefined);
    unpin();
    const v = view as EarlyView | undefined;
    if (v && !adopted) {
      // A step above may still have it mounted: removed once that mount is gone (the build waits for it).
      void v.close();
      v.finish(v.unused().then(() => active.discard()));
    } else {
      try {
        await active.discard();
      } finally {
        v?.finish();
      }
    }
  }
}

/**
 * The blob of an unsealed layer, made from its snapshot over its parents' as buildLayer makes it
 * from the upper dir over the same lowers, so the tar is the one the step would have written;
 * undefined when the snapshot holds no change.
 */
export async function sealLayer(deps: LayerBuilderDeps, parentLayers: LayerRef[], layer: LayerRef): Promise<LayerRef | undefined> {
  const lowers = await snapshotDirs(deps, parentLayers);
  const made = await diffIntoBlob(deps, await deps.store.ensureSnapshot(layer), lowers, { index: false });
  return made?.layer;
}

/**
 * Diffs `upper` over `lowers` into a committed gzip blob; undefined, with nothing written, when
 * there is no change. The store's blob writer hashes the blob itself, and commit names it by
 * that hash.
 */
async function diffIntoBlob(
  deps: LayerBuilderDeps,
  upper: string,
  lowers: string[],
  opts: { reuse?: MemberSource; trusted?: ReadonlyMap<string, BigIntStats>; index: boolean },
): Promise<{ layer: LayerRef; members: MemberIndex | undefined } | undefined> {
  const writer = deps.store.blobWriter();
  let diff;
  try {
    diff = await diffUpperToLayer(upper, writer, { compression: 'gzip', sourceDateEpoch: deps.sourceDateEpoch, lowers, ...opts, blobDigest: false });
  } catch (e) {
    await writer.abort();
    throw e;
  }
  if (diff.empty) {
    await writer.abort();
    return undefined;
  }
  const blob = await writer.commit({ size: diff.size });
  return { layer: { digest: blob.digest, diffId: diff.diffId, size: blob.size, mediaType: LAYER_MEDIA_TYPE }, members: diff.members };
}
