import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Step } from '@tbuild/planner';
import type { CopyReuse } from '../copy/copy-files.ts';
import type { StorePort } from './ports.ts';

/**
 * A `COPY` from the context that misses the cache because a few of its files changed links the
 * unchanged ones from its previous result instead of copying them again (the 20,000-file
 * benchmark context re-copied 80 MB for one edited file). The previous result is the snapshot
 * of the last build of the same instruction: same cache-key inputs except the context digest
 * and the parent. A note in the store's meta records, per written path, the digest of the
 * context file it came from (content, mode and owner); copyFiles links only files whose digest
 * matches and whose stored copy has exactly the metadata a fresh copy would get, so the layer is
 * the same bytes either way. Snapshots are never written after adoption, and an overlay copies a
 * lower file up before any change, so sharing their inodes is safe.
 */
interface DonorNote {
  diffId: string;
  files: Record<string, string>;
}

/** Fewer files than this are copied faster than their note is read and written. */
const MIN_FILES = 100;

/** The meta name of a step's donor note; undefined for a COPY that does not read the context. */
export function donorName(step: Step): string | undefined {
  const ki = step.keyInputs as { op?: { from?: { kind?: string } } };
  if (step.kind !== 'copy' || ki.op?.from?.kind !== 'context') return undefined;
  // Not the parent either: an earlier step's change must not cost the note. What a link needs
  // is checked per file, and only where this copy made the directory.
  const shape = JSON.stringify({ ...ki, parent: undefined, op: { ...ki.op, from: { kind: 'context' } } });
  return `copy-donor-${createHash('sha256').update(shape).digest('hex').slice(0, 32)}`;
}

/**
 * What copyFiles needs to link from the previous result and to record this one. `digests`:
 * per-file digests of the selected context files, by absolute path.
 */
export async function openDonor(
  store: StorePort,
  name: string,
  upper: string,
  digests: Map<string, string>,
): Promise<{ reuse: CopyReuse; save(diffId: string): Promise<void> } | undefined> {
  if (!store.readMeta || !store.writeMeta || !store.snapshotPath || digests.size < MIN_FILES) return undefined;
  let note: DonorNote | undefined;
  try {
    const raw = await store.readMeta(name);
    if (raw) note = JSON.parse(raw.toString()) as DonorNote;
  } catch {
    note = undefined; // a note cut short or from another version: copy everything
  }
  const donorDir = note && typeof note.files === 'object' ? store.snapshotPath(note.diffId) : undefined;
  const written: Record<string, string> = {};
  const reuse: CopyReuse = {
    upper,
    linked: new Set(),
    donorFor: (f, rel) => {
      const want = digests.get(f.absPath);
      return donorDir && want !== undefined && note!.files[rel] === want ? path.join(donorDir, rel) : undefined;
    },
    written: (f, rel) => {
      const d = digests.get(f.absPath);
      if (d !== undefined) written[rel] = d;
    },
  };
  return {
    reuse,
    save: async (diffId) => {
      await store.writeMeta!(name, JSON.stringify({ diffId, files: written } satisfies DonorNote));
    },
  };
}

/**
 * `COPY --from` a stage or image without --chown/--chmod keeps each file's content, owner, mode
 * and times, so the file can be linked from the snapshot it lives in rather than copied (and
 * keeps its nanosecond mtime and xattrs, as BuildKit's copy does). The visible file is the one
 * in the top-most layer that has the path; it is taken only when it is the very inode the
 * mounted view shows (overlayfs on one filesystem reports the lower file's inode), which also
 * rules out a path that a symlink in some layer would lead out of the snapshot.
 */
export function stageDonor(lowersTopFirst: string[], upper: string): CopyReuse {
  return {
    upper,
    linked: new Set(),
    donorFor: (f) => {
      const rel = (f as { relPath?: string }).relPath;
      if (rel === undefined || rel === '' || f.type !== 'file') return undefined;
      let shown: fs.Stats | undefined;
      try {
        shown = fs.lstatSync(f.absPath);
      } catch {
        return undefined;
      }
      for (const lower of lowersTopFirst) {
        const candidate = path.join(lower, rel);
        const st = fs.lstatSync(candidate, { throwIfNoEntry: false });
        if (!st) continue;
        return st.isFile() && st.ino === shown.ino && st.size === shown.size && st.mtimeMs === shown.mtimeMs ? candidate : undefined;
      }
      return undefined;
    },
    written: () => undefined,
  };
}
