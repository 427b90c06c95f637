import fs from 'node:fs/promises';
import path from 'node:path';
import { readIfExists } from './fs-util.ts';
import { ownerAlive } from './process-id.ts';

/** What live processes hold: blobs and snapshots named in their leases, and all content written since `since`. */
export interface LivePins {
  blobs: Set<string>;
  snaps: Set<string>;
  /** Content written at or after this time (epoch ms) belongs to a running build (see writtenSince); Infinity when none. */
  since: number;
}

/**
 * Whether a file with this mtime may have been written by a live build. File times and
 * Date.now() come from the same clock, but a filesystem stamps files from a coarse copy of it
 * that lags by up to a scheduler tick, and one with whole-second times (ext4 with small inodes)
 * rounds them down. A time with a fraction comes from a fine-grained filesystem, so a small
 * slack does there; a rebuild right after a build then still sees the earlier build's snapshots
 * as not its own.
 */
export function writtenSince(pins: LivePins, mtimeMs: number): boolean {
  if (pins.since === Infinity) return false;
  const slack = mtimeMs % 1000 === 0 ? 2_000 : 100;
  return mtimeMs >= pins.since - slack;
}

/** Reads the leases of live processes; with `dropDead`, removes those of processes that are gone. Call under the `gc` lock. */
export async function readLivePins(leasesDir: string, opts: { dropDead: boolean }): Promise<LivePins> {
  const pins: LivePins = { blobs: new Set(), snaps: new Set(), since: Infinity };
  for (const name of await fs.readdir(leasesDir)) {
    const file = path.join(leasesDir, name);
    if (!ownerAlive(name)) {
      if (opts.dropDead) await fs.rm(file, { force: true });
      continue;
    }
    const raw = await readIfExists(file);
    try {
      const lease = JSON.parse(raw?.toString() ?? '{}') as { digests?: string[]; since?: number };
      for (const d of lease.digests ?? []) {
        pins.blobs.add(d);
        pins.snaps.add(d);
      }
      if (typeof lease.since === 'number') pins.since = Math.min(pins.since, lease.since);
    } catch {
      /* being written right now: its owner is alive, it will be readable next time */
    }
  }
  return pins;
}
