import { randomBytes } from 'node:crypto';

/**
 * A layer whose snapshot is in the store but whose blob is not made yet: what a step of a stage
 * the build's image does not contain leaves (BuildKit, too, makes a layer's tar only when an
 * export needs it). Its digest and diffID are one random id that names the snapshot. The
 * snapshot is the only copy of its files: a record whose snapshot is gone (a rerun COPY took it
 * as its donor, store.takeSnapshot) is a miss, which gc drops. The executor seals such a layer
 * (diffs the snapshot into a blob) when an image or a cache export needs it, and the record then
 * names the blob.
 */
export const UNSEALED_LAYER = 'application/vnd.tbuild.layer.unsealed';

export function isUnsealed(layer: { mediaType: string }): boolean {
  return layer.mediaType === UNSEALED_LAYER;
}

/** A fresh id in digest form, so records, leases and snapshot slots take it as they take a diffID. */
export function unsealedId(): string {
  return `sha256:${randomBytes(32).toString('hex')}`;
}

/** The file that marks a snapshot slot as an unsealed layer's (the slot says so on disk, for whoever looks). */
export const UNSEALED_MARKER = 'unsealed';
