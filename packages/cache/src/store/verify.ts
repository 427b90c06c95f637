import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { nameHash } from '../digest.ts';
import type { Store } from '../store.ts';
import { readIfExists } from './fs-util.ts';
import { listSlots } from './snapshot-slots.ts';
import { parseStepRecord } from './step-record.ts';

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
  for (const slot of await listSlots(store.dirs.snapshots)) {
    if (!slot.diffId) await report('snapshot', slot.name, 'no diffid marker', slot.dir);
    else if (!(await fs.lstat(slot.fs).catch(() => undefined))?.isDirectory()) await report('snapshot', slot.diffId, 'incomplete (no fs directory)', slot.dir);
  }
  for (const name of await fs.readdir(store.dirs.steps)) {
    const file = path.join(store.dirs.steps, name);
    const raw = await readIfExists(file);
    const rec = raw && parseStepRecord(raw);
    if (!rec) await report('step', name, 'unreadable record', file);
    else if (`${nameHash(rec.key)}.json` !== name) await report('step', rec.key, 'record stored under the wrong name', file);
    else if (rec.layer && !goodBlobs.has(rec.layer.digest)) await report('step', rec.key, `layer blob ${rec.layer.digest} missing or corrupt`, file);
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
  }
  return problems;
}
