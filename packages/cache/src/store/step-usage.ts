import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import type { StepRecord } from './step-record.ts';

/**
 * Cache hits, journaled. A hit used to rewrite the step's record (read, write a temp file,
 * fsync, rename, fsync the dir): ~15 ms of a 42-step warm build here. Now a build appends one
 * line per hit to `meta/step-usage.log` in a single unsynced write; readers fold the lines into
 * the records (`hits` added, `lastUsed` the latest), and gc folds them into the records for
 * good and starts a new journal. A crash may lose the last hits: they only steer gc's LRU order.
 */
export interface Usage {
  hits: number;
  /** ISO-8601, as StepRecord.lastUsed. */
  last: string;
}

/**
 * Appends one line per key; concurrent builds' appends never interleave within a line. One
 * small write, made synchronously (see fs-util.ts, readIfExists).
 */
export async function appendUsage(file: string, keys: string[], at: string): Promise<void> {
  if (keys.length === 0) return;
  fsSync.appendFileSync(file, keys.map((k) => `${at}\t${k}\n`).join(''), { mode: 0o600 });
}

export async function readUsage(file: string): Promise<Map<string, Usage>> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return new Map();
  }
  return parseUsage(text);
}

/** Lines that are not `TIME\tKEY` (a write cut short by a crash) are skipped. */
export function parseUsage(text: string): Map<string, Usage> {
  const out = new Map<string, Usage>();
  for (const line of text.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab <= 0) continue;
    const at = line.slice(0, tab);
    const key = line.slice(tab + 1);
    if (!key || Number.isNaN(Date.parse(at))) continue;
    const u = out.get(key);
    if (!u) out.set(key, { hits: 1, last: at });
    else {
      u.hits += 1;
      if (at > u.last) u.last = at;
    }
  }
  return out;
}

/** The record with its journaled hits applied (a new object; the input is not changed). */
export function withUsage(rec: StepRecord, u: Usage | undefined): StepRecord {
  if (!u) return rec;
  return { ...rec, hits: rec.hits + u.hits, lastUsed: u.last > rec.lastUsed ? u.last : rec.lastUsed };
}
