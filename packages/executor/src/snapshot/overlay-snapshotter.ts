import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { flattenLowers } from './flatten-lowers.ts';
import { mountLowerStack, uniqueLowers } from './lower-stack.ts';
import { mountsUnder, unmount } from './mountinfo.ts';
import { ownerAlive, writeOwner } from './owner.ts';
import type { ActiveSnapshot, PrepareOptions, Snapshotter } from './snapshotter.ts';

export interface OverlaySnapshotterOptions {
  /** tbuild's state dir; active snapshots live in `<stateDir>/snapshots/<id>/`. Must not be on overlayfs. */
  stateDir: string;
  /**
   * Most lowers in one mount; the kernel allows 500 (OVL_MAX_STACK). Deeper stacks get their
   * bottom layers flattened into one copied dir, made again on every prepare, so this only
   * pays off when it is rare: the default is the kernel's limit. Tests lower it.
   */
  maxLowers?: number;
}

const KERNEL_MAX_LOWERS = 500;

export function snapshotsDir(stateDir: string): string {
  return path.join(stateDir, 'snapshots');
}

/**
 * Snapshotter over kernel overlayfs. Each active snapshot gets a short private dir
 * `<stateDir>/snapshots/<8 hex>/` holding `u` (upper), `w` (work), `m` (merged mount), `e`
 * (empty lower for FROM scratch), `p` (empty second lower of a read-only view), `l/` (short
 * symlinks to the lowers), `f` (flattened bottom layers, only for deep stacks) and
 * `owner.json` (for `cleanupStale`).
 */
export class OverlaySnapshotter implements Snapshotter {
  readonly #stateDir: string;
  readonly #maxLowers: number;

  constructor(opts: OverlaySnapshotterOptions) {
    this.#stateDir = path.resolve(opts.stateDir);
    this.#maxLowers = Math.min(Math.max(opts.maxLowers ?? KERNEL_MAX_LOWERS, 2), KERNEL_MAX_LOWERS);
  }

  async prepare(opts: PrepareOptions): Promise<ActiveSnapshot> {
    for (const l of opts.lowers) {
      if (!fs.statSync(l).isDirectory()) throw new Error(`lower is not a directory: ${l}`);
    }
    const root = snapshotsDir(this.#stateDir);
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
    const dir = path.join(root, crypto.randomBytes(4).toString('hex'));
    fs.mkdirSync(dir, { mode: 0o700 });
    writeOwner(dir);
    fs.writeFileSync(path.join(dir, 'key'), opts.key);
    try {
      for (const d of ['u', 'w', 'm']) fs.mkdirSync(path.join(dir, d));
      // The upper dir becomes the root of every new file's parent chain; 0755 like an image root.
      fs.chmodSync(path.join(dir, 'u'), 0o755);
      let lowers = uniqueLowers(opts.lowers);
      if (lowers.length === 0) {
        fs.mkdirSync(path.join(dir, 'e'), { mode: 0o755 });
        lowers = [path.join(dir, 'e')];
      } else if (lowers.length > this.#maxLowers) {
        const flat = path.join(dir, 'f');
        const scratch = path.join(dir, 's');
        fs.mkdirSync(flat, { mode: 0o755 });
        fs.mkdirSync(scratch);
        try {
          await flattenLowers(lowers.slice(this.#maxLowers - 1), flat, scratch, this.#maxLowers);
        } finally {
          fs.rmSync(scratch, { recursive: true, force: true });
        }
        lowers = [...lowers.slice(0, this.#maxLowers - 1), flat];
      }
      if (opts.readonly) {
        // Overlay wants two lowers when it has no upper (FROM scratch has `e` already); an
        // empty one below changes nothing.
        if (lowers.length < 2) {
          fs.mkdirSync(path.join(dir, 'p'), { mode: 0o755 });
          lowers = [...lowers, path.join(dir, 'p')];
        }
        await mountLowerStack({ dir, lowers, target: path.join(dir, 'm'), readonly: true });
      } else {
        await mountLowerStack({ dir, lowers, target: path.join(dir, 'm'), upper: 'u', work: 'w' });
      }
    } catch (e) {
      await removeSnapshotDir(dir);
      throw e;
    }
    return new OverlayActiveSnapshot(opts.key, dir);
  }
}

class OverlayActiveSnapshot implements ActiveSnapshot {
  readonly rootfs: string;
  readonly upper: string;
  readonly work: string;
  #released = false;

  constructor(
    readonly key: string,
    private readonly dir: string,
  ) {
    this.rootfs = path.join(dir, 'm');
    this.upper = path.join(dir, 'u');
    this.work = path.join(dir, 'w');
  }

  async release(): Promise<void> {
    if (this.#released) return;
    await unmountAll(this.dir);
    this.#released = true;
    for (const d of ['w', 'm', 'l', 'e', 'p', 'f']) fs.rmSync(path.join(this.dir, d), { recursive: true, force: true });
  }

  async discard(): Promise<void> {
    await removeSnapshotDir(this.dir);
    this.#released = true;
  }
}

/** Never delete through a live mount: that would remove files from the mounted tree instead. */
async function unmountAll(dir: string): Promise<void> {
  const mounted = mountsUnder(dir);
  if (mounted.length === 0) return;
  for (const m of mounted) await unmount(m);
  const left = mountsUnder(dir);
  if (left.length > 0) throw new Error(`still mounted after unmount: ${left.join(', ')}`);
}

async function removeSnapshotDir(dir: string): Promise<void> {
  await unmountAll(dir);
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * Removes active snapshots left by processes that died without cleaning up (SIGKILL, crash):
 * unmounts whatever is still mounted under their dirs and deletes them. Snapshots of live
 * builds sharing the state dir are left alone. Returns the removed dirs.
 */
export async function cleanupStaleSnapshots(stateDir: string): Promise<string[]> {
  const root = snapshotsDir(path.resolve(stateDir));
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const dir = path.join(root, name);
    if (ownerAlive(dir)) continue;
    await removeSnapshotDir(dir);
    removed.push(dir);
  }
  return removed;
}
