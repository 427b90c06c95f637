import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { isSha256Digest, nameHash } from '../digest.ts';
import type { Store } from '../store.ts';
import { readIfExists } from './fs-util.ts';
import { listSlots } from './snapshot-slots.ts';
import { parseStepRecord } from './step-record.ts';
import { isUnsealed } from './unsealed.ts';

/** One inconsistency: `kind` is blob | snapshot | step | ref, `id` names the entry. */
export interface VerifyProblem {
  kind: string;
  id: string;
  problem: string;
}

/**
 * Re-hashes every blob and checks every snapshot slot, step record and ref. With `repair`,
 * removes what is broken (corrupt blobs, incomplete snapshots, records and refs pointing at
 * missing content) so the next build recomputes it. Snapshot contents are not re-hashed:
 * they are rebuilt from their (verified) layer blobs when removed.
 */
export async function runVerify(store: Store, opts: { repair?: boolean }): Promise<VerifyProblem[]> {
  const problems: VerifyProblem[] = [];
  const report = async (kind: string, id: string, problem: string, target: string): Promise<void> => {
    problems.push({ kind, id, problem });
    if (opts.repair) await fs.rm(target, { recursive: true, force: true });
  };
  const goodBlobs = new Set<string>();
  for (const name of await fs.readdir(store.dirs.blobs)) {
    const file = path.join(store.dirs.blobs, name);
    if (!/^[0-9a-f]{64}$/.test(name)) {
      await report('blob', name, 'file name is not a sha256 digest', file);
      continue;
    }
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    const actual = hash.digest('hex');
    if (actual !== name) await report('blob', `sha256:${name}`, `content hashes to sha256:${actual}`, file);
    else goodBlobs.add(`sha256:${name}`);
  }
  // A slot with a marker but no fs is a claim whose rename is pending, or debris of a killed
  // unpack; either way no reader uses it (complete means fs exists), the next unpack of that
  // diffID fills it and gc removes old ones, so it is not a problem.
  for (const slot of await listSlots(store.dirs.snapshots)) {
    if (!slot.diffId) {
      // The marker is written before anything else, so a markerless slot with an fs is foreign.
      if (await fs.lstat(slot.fs).catch(() => undefined)) await report('snapshot', slot.name, 'no diffid marker', slot.dir);
    } else if (!isSha256Digest(slot.diffId)) await report('snapshot', slot.name, 'diffid marker is not a digest', slot.dir);
    else if ((await fs.lstat(slot.fs).catch(() => undefined))?.isDirectory() === false) await report('snapshot', slot.diffId, 'fs is not a directory', slot.dir);
  }
  for (const name of await fs.readdir(store.dirs.steps)) {
    const file = path.join(store.dirs.steps, name);
    const raw = await readIfExists(file);
    const rec = raw && parseStepRecord(raw);
    if (!rec) await report('step', name, 'unreadable record', file);
    else if (`${nameHash(rec.key)}.json` !== name) await report('step', rec.key, 'record stored under the wrong name', file);
    // An unsealed layer whose snapshot a rerun COPY took is a miss by design, not damage: gc drops it.
    else if (rec.layer && !isUnsealed(rec.layer) && !goodBlobs.has(rec.layer.digest)) await report('step', rec.key, `layer blob ${rec.layer.digest} missing or corrupt`, file);
  }
  for (const name of await fs.readdir(store.dirs.refs)) {
    const file = path.join(store.dirs.refs, name);
    let ref: { name?: string; digest?: string } | undefined;
    try {
      ref = JSON.parse((await readIfExists(file))?.toString() ?? '') as { name?: string; digest?: string };
    } catch {
      ref = undefined;
    }
    if (!ref?.name || !ref.digest) await report('ref', name, 'unreadable ref', file);
    else if (!goodBlobs.has(ref.digest)) await report('ref', ref.name, `manifest ${ref.digest} missing or corrupt`, file);
    else {
      // Everything the image needs must be there too: an image whose layer is gone cannot be exported.
      const missing = (await imageBlobs(store, ref.digest, goodBlobs)).filter((d) => !goodBlobs.has(d)).sort();
      if (missing.length) await report('ref', ref.name, `blob ${missing[0]} of the image missing or corrupt${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ''}`, file);
    }
  }
  return problems;
}

/**
 * The blobs an image needs: manifest, config and layers. Of an index only the manifests that
 * are present are followed: a pull stores one platform, the others are not missing.
 */
async function imageBlobs(store: Store, digest: string, good: Set<string>, depth = 0): Promise<string[]> {
  if (!good.has(digest)) return [digest];
  let doc: { manifests?: Array<{ digest?: unknown }>; config?: { digest?: unknown }; layers?: Array<{ digest?: unknown }> };
  try {
    doc = JSON.parse((await store.readBlob(digest)).toString()) as typeof doc;
  } catch {
    return []; // not JSON: a layer or foreign blob, nothing below it
  }
  const out: string[] = [];
  if (Array.isArray(doc.manifests) && depth < 4) {
    for (const m of doc.manifests) if (isSha256Digest(m?.digest) && good.has(m.digest)) out.push(...(await imageBlobs(store, m.digest, good, depth + 1)));
  }
  if (isSha256Digest(doc.config?.digest)) out.push(doc.config.digest);
  if (Array.isArray(doc.layers)) for (const l of doc.layers) if (isSha256Digest(l?.digest)) out.push(l.digest);
  return out;
}
