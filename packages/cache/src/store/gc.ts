import fs from 'node:fs/promises';
import path from 'node:path';
import type { Store } from '../store.ts';
import { diskUsage, regularFilesUnder } from './fs-util.ts';
import { collectImageRoots } from './image-roots.ts';
import { removeDeadLeftovers } from './leftovers.ts';
import { readLivePins, writtenSince } from './pins.ts';
import { isComplete, listSlots } from './snapshot-slots.ts';
import type { StepRecord } from './step-record.ts';
import { isUnsealed } from './unsealed.ts';

/**
 * - all: drop every step record (image refs stay; their content stays reachable)
 * - until: drop step records last used before this time (epoch milliseconds)
 * - keepStorage: then drop least-recently-used steps until blobs + snapshots fit in this many bytes
 * - dryRun: report what would go, change nothing
 * Without options only unreachable blobs/snapshots and dead temp files go.
 */
export interface GcOptions {
  keepStorage?: number;
  until?: number;
  all?: boolean;
  dryRun?: boolean;
}

/** `removed` holds `step:<key>`, `blob:<digest>`, `snapshot:<diffID>` entries; `freed` is bytes. */
export interface GcResult {
  removed: string[];
  freed: number;
}

// A slot with a diffid marker but no fs is either debris of a crash or a claim whose rename
// follows within milliseconds; only the former is old.
const INCOMPLETE_GRACE_MS = 60_000;

/**
 * Mark and sweep under the `gc` lock. Roots: image refs (manifest → config, layers, diff_ids),
 * leases of live processes, and the step records that survive. A blob written but not yet
 * referenced by putStep/setRef is only safe while leased: builds lease what they produce.
 */
export async function runGc(store: Store, opts: GcOptions): Promise<GcResult> {
  if (!opts.dryRun) return store.pruning(() => sweep(store, opts));
  const release = await store.lock('gc');
  try {
    return await sweep(store, opts);
  } finally {
    await release();
  }
}

async function sweep(store: Store, opts: GcOptions): Promise<GcResult> {
  const removed: string[] = [];
  let freed = 0;
  const pins = await readLivePins(store.dirs.leases, { dropDead: !opts.dryRun });
  const pinnedBlobs = pins.blobs;
  const pinnedSnaps = pins.snaps;
  for (const ref of await store.listRefs()) await collectImageRoots(store, ref.digest, pinnedBlobs, pinnedSnaps);

  const blobSizes = new Map<string, number>();
  for (const name of await fs.readdir(store.dirs.blobs)) {
    const st = await fs.stat(path.join(store.dirs.blobs, name)).catch(() => undefined);
    if (!st) continue;
    blobSizes.set(`sha256:${name}`, st.size);
    // Content written after a live build's `since` lease is that build's work in progress.
    if (writtenSince(pins, st.mtimeMs)) pinnedBlobs.add(`sha256:${name}`);
  }
  const slots = await listSlots(store.dirs.snapshots);
  for (const s of slots) {
    if (!s.diffId || pins.since === Infinity) continue;
    const st = await fs.stat(s.dir).catch(() => undefined);
    if (st && writtenSince(pins, st.mtimeMs)) pinnedSnaps.add(s.diffId);
  }

  if (!opts.dryRun) await store.foldUsage();
  const steps = await store.listSteps();
  const complete = new Set<string>();
  for (const s of slots) if (s.diffId && (await isComplete(s))) complete.add(s.diffId);
  // A record of an unsealed layer whose snapshot is gone (a rerun COPY took it) can never hit.
  const dead = (s: StepRecord): boolean => s.layer !== undefined && isUnsealed(s.layer) && !complete.has(s.layer.diffId);
  const doomed = new Set<StepRecord>(steps.filter((s) => opts.all || (opts.until !== undefined && Date.parse(s.lastUsed) < opts.until) || dead(s)));
  if (opts.keepStorage !== undefined) {
    const snapSizes = new Map<string, number>();
    for (const s of slots) if (s.diffId) snapSizes.set(s.diffId, await diskUsage(s.fs));
    const refs = new Map<string, number>();
    const objs = (s: StepRecord): string[] => (s.layer ? [`b${s.layer.digest}`, `s${s.layer.diffId}`] : []);
    const sizeOf = (o: string): number => (o[0] === 'b' ? blobSizes.get(o.slice(1)) : snapSizes.get(o.slice(1))) ?? 0;
    for (const d of pinnedBlobs) refs.set(`b${d}`, Infinity);
    for (const d of pinnedSnaps) refs.set(`s${d}`, Infinity);
    for (const s of steps) if (!doomed.has(s)) for (const o of objs(s)) refs.set(o, (refs.get(o) ?? 0) + 1);
    let usage = 0;
    for (const [o, n] of refs) if (n > 0) usage += sizeOf(o);
    const lru = steps.filter((s) => !doomed.has(s)).sort((a, b) => Date.parse(a.lastUsed) - Date.parse(b.lastUsed));
    for (const s of lru) {
      if (usage <= opts.keepStorage) break;
      doomed.add(s);
      for (const o of objs(s)) {
        const n = (refs.get(o) ?? 0) - 1;
        refs.set(o, n);
        if (n === 0) usage -= sizeOf(o);
      }
    }
  }

  const liveBlobs = new Set(pinnedBlobs);
  const liveSnaps = new Set(pinnedSnaps);
  for (const s of steps) {
    if (doomed.has(s)) continue;
    if (s.layer) {
      liveBlobs.add(s.layer.digest);
      liveSnaps.add(s.layer.diffId);
    }
  }
  for (const s of doomed) {
    removed.push(`step:${s.key}`);
    if (!opts.dryRun) await store.deleteStep(s.key);
  }
  for (const [digest, size] of blobSizes) {
    if (liveBlobs.has(digest)) continue;
    removed.push(`blob:${digest}`);
    freed += size;
    if (!opts.dryRun) await fs.rm(path.join(store.dirs.blobs, digest.slice(7)), { force: true });
  }
  // Snapshots may share inodes (COPY hard-linked unchanged files in stores of earlier tbuild
  // builds): a file's bytes are freed only when every link to it goes, so count each inode
  // once all its links are among the removed snapshots.
  const dropped = new Map<string, { links: number; nlink: number; size: number }>();
  for (const slot of slots) {
    if (slot.diffId && liveSnaps.has(slot.diffId)) continue;
    const st = await fs.lstat(slot.fs).catch(() => undefined);
    if (!st) {
      const age = Date.now() - ((await fs.stat(slot.dir).catch(() => undefined))?.mtimeMs ?? 0);
      if (age < INCOMPLETE_GRACE_MS) continue;
    }
    removed.push(`snapshot:${slot.diffId ?? slot.name}`);
    await tallyFiles(slot.fs, dropped);
    if (!opts.dryRun) await fs.rm(slot.dir, { recursive: true, force: true });
  }
  for (const f of dropped.values()) if (f.links >= f.nlink) freed += f.size;
  if (!opts.dryRun) {
    for (const p of await removeDeadLeftovers(store.dirs.tmp)) removed.push(`tmp:${path.basename(p)}`);
    await removeOrphanDonorNotes(store);
  }
  return { removed, freed };
}

/** A copy-donor note (executor's copy-donor.ts) whose snapshot is gone only costs a read: drop it. */
async function removeOrphanDonorNotes(store: Store): Promise<void> {
  for (const name of await fs.readdir(store.dirs.meta).catch(() => [] as string[])) {
    if (!name.startsWith('copy-donor-')) continue;
    const file = path.join(store.dirs.meta, name);
    let diffId: unknown;
    try {
      diffId = (JSON.parse(await fs.readFile(file, 'utf8')) as { diffId?: unknown }).diffId;
    } catch {
      diffId = undefined;
    }
    const live = typeof diffId === 'string' && (await store.hasSnapshot(diffId).catch(() => false));
    if (!live) await fs.rm(file, { force: true });
  }
}

async function tallyFiles(dir: string, into: Map<string, { links: number; nlink: number; size: number }>): Promise<void> {
  for await (const st of regularFilesUnder(dir)) {
    const id = `${st.dev}:${st.ino}`;
    const f = into.get(id);
    if (f) f.links++;
    else into.set(id, { links: 1, nlink: st.nlink, size: st.size });
  }
}
