import fs from 'node:fs';
import path from 'node:path';
import { readXattrs } from './xattrs.ts';

/**
 * Finds what a path looks like in the stack of lowers below an upper dir (snapshot dirs in
 * overlayfs format, top-most first), applying whiteouts (0/0 character devices) and opaque
 * dirs the way the kernel does. Used to drop directories that overlay merely copied up
 * (because something was created and removed inside them, or a child changed) and that
 * still match the lower one: BuildKit's `sameDirent` rule, so a RUN that changes nothing
 * yields an empty layer and parents are not repeated in every layer.
 */
export class LowerView {
  readonly #lowers: string[];
  /** Directories looked up and found in no lower: nothing below them is in a lower either. */
  readonly #absentDirs = new Set<string>();

  constructor(lowers: string[]) {
    this.#lowers = lowers.map((l) => path.resolve(l));
  }

  /** The lower entry for `rel` (no leading `/`), or undefined if the lowers do not have it. */
  lookup(rel: string): { host: string; st: fs.BigIntStats } | undefined {
    const slash = rel.lastIndexOf('/');
    if (slash > 0 && this.#absentDirs.has(rel.slice(0, slash))) return undefined;
    const parts = rel.split('/');
    for (const lower of this.#lowers) {
      let hidden = false;
      let opaqueAbove = false;
      // A whiteout or a non-directory at an ancestor hides the path here and in every lower below.
      for (let i = 0; i < parts.length; i++) {
        const host = path.join(lower, ...parts.slice(0, i + 1));
        let st: fs.BigIntStats;
        try {
          st = fs.lstatSync(host, { bigint: true });
        } catch {
          break; // absent in this lower: look further down
        }
        if (st.isCharacterDevice() && st.rdev === 0n) {
          hidden = true;
          break;
        }
        if (i === parts.length - 1) return { host, st };
        if (!st.isDirectory()) {
          hidden = true;
          break;
        }
        if (readXattrs(host).get('trusted.overlay.opaque')?.toString() === 'y') opaqueAbove = true;
      }
      if (hidden || opaqueAbove) return undefined;
    }
    return undefined;
  }

  /** True when the upper dir `st` equals its lower counterpart in everything a layer records. */
  sameDir(rel: string, st: fs.BigIntStats, keptXattrs: ReadonlyMap<string, Buffer>): boolean {
    const lower = this.lookup(rel);
    // The walk visits a directory before what is inside it, so a new tree costs one lookup.
    if (!lower) this.#absentDirs.add(rel);
    if (!lower || !lower.st.isDirectory()) return false;
    const l = lower.st;
    if (l.mode !== st.mode || l.uid !== st.uid || l.gid !== st.gid) return false;
    if (!sameTime(l.mtimeNs, st.mtimeNs)) return false;
    const lx = readXattrs(lower.host);
    for (const [k, v] of keptXattrs) if (!lx.get(k)?.equals(v)) return false;
    for (const k of lx.keys()) if (k === 'security.capability' && !keptXattrs.has(k)) return false;
    return true;
  }
}

/**
 * Equal to the nanosecond, or in the same second when one side has no nanoseconds (it came out
 * of a tar, which keeps whole seconds): continuity's `sameFsTime`, which BuildKit relies on.
 */
function sameTime(a: bigint, b: bigint): boolean {
  if (a === b) return true;
  const sec = 1_000_000_000n;
  return a / sec === b / sec && (a % sec === 0n || b % sec === 0n);
}
