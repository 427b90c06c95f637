import fsSync from 'node:fs';
import fs from 'node:fs/promises';

/**
 * A count of prunes, so that a build can look things up and lease them without taking gc's
 * lock. Taking it is an exec of flock(1), and forking a Node.js process of ~60 MB cost a warm
 * build ~25 ms on a machine with slow page faults.
 *
 * Whatever deletes content (gc, `takeSnapshot`) does so under gc's lock, with the count odd
 * while it runs and even, and higher, after. A build reads an even count, looks up and leases,
 * and reads the count again: unchanged, no prune started before the lease was written, and any
 * later one reads that lease. Changed, odd, or unreadable, the build does it again under the lock.
 * Written by rename, unsynced: after a power loss no build is left that read the old count.
 */
export async function readGeneration(file: string): Promise<number | undefined> {
  // Synchronous, as the store's other small reads (fs-util.ts, readIfExists).
  let raw: string | undefined;
  try {
    raw = fsSync.readFileSync(file, 'utf8');
  } catch {
    raw = undefined;
  }
  const n = raw === undefined ? NaN : Number(raw.trim());
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

export async function writeGeneration(file: string, tmp: string, n: number): Promise<void> {
  await fs.writeFile(tmp, `${n}\n`, { mode: 0o600 });
  await fs.rename(tmp, file);
}

/** The odd count a prune runs under: above `current`, so a build that read `current` sees the change. */
export function pruningGeneration(current: number | undefined): number {
  const g = current ?? 0;
  return g % 2 === 0 ? g + 1 : g + 2;
}
