import { createHash } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import fs from 'node:fs/promises';
import type { Step } from '@tbuild/planner';
import type { CopyReuse } from '../copy/copy-files.ts';
import { joinClean } from '../clean-path.ts';
import type { MemberIndex, MemberSource } from '../layer/index.ts';
import type { StorePort } from './ports.ts';

/**
 * A `COPY` from the context that misses the cache because a few of its files changed takes the
 * unchanged ones from its previous result instead of copying them again (the 20,000-file
 * benchmark context re-copied 80 MB for one edited file). The previous result is the snapshot
 * of the last build of the same instruction: same cache-key inputs except the context digest
 * and the parent. A note in the store's meta records, per written path, the digest of the
 * context file it came from (content, mode and owner); copyFiles takes only files whose digest
 * matches and whose stored copy has exactly the metadata a fresh copy would get, so the layer is
 * the same bytes either way.
 *
 * The files are moved, not linked: a linked file showed a link count of 2 to later RUN steps,
 * so a RUN that records `ls -l` made a different image than a fresh build. Moving empties the
 * previous snapshot, so the store hands it over only when nothing can have it mounted
 * (Store.takeSnapshot); otherwise everything is copied. Its blob stays in the store. A
 * directory whose whole contents are unchanged is moved in one rename (copy-files.ts).
 */
interface DonorNote {
  diffId: string;
  /**
   * Per written path: the context file's digest, then a space and what the file was written
   * with (copy/file-record.ts), which spares the next build an lstat per file. Notes of an
   * older tbuild have the digest alone.
   */
  files: Record<string, string>;
  /** The previous result's blob and its gzip members, whose unchanged ones the new blob copies. */
  blob?: string;
  members?: MemberIndex;
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
 * What copyFiles needs to take files from the previous result and to record this one.
 * `digests`: per-file digests of the selected context files, by absolute path. `members`: the
 * previous blob's gzip members, for the new layer to copy. `discard` removes what is left of
 * the previous result; call it once the copy is over, whatever happened.
 */
export async function openDonor(
  store: StorePort,
  name: string,
  upper: string,
  digests: Map<string, string>,
): Promise<{ reuse: CopyReuse; members?: MemberSource; trusted: ReadonlyMap<string, BigIntStats>; save(layer: { diffId: string; digest: string }, members?: MemberIndex): Promise<void>; discard(): Promise<void> } | undefined> {
  if (!store.readMeta || !store.writeMeta || !store.takeSnapshot || digests.size < MIN_FILES) return undefined;
  let note: DonorNote | undefined;
  try {
    const raw = await store.readMeta(name);
    if (raw) note = JSON.parse(raw.toString()) as DonorNote;
  } catch {
    note = undefined; // a note cut short or from another version: copy everything
  }
  const donorDir = note && typeof note.files === 'object' && typeof note.diffId === 'string' ? await store.takeSnapshot(note.diffId) : undefined;
  const written: Record<string, string> = {};
  // Files moved, not copied, and not written again since: their bytes are the previous blob's,
  // and the lstat taken before the move is still theirs.
  const trusted = new Map<string, BigIntStats>();
  const reuse: CopyReuse = {
    upper,
    donorFor: (f, rel) => {
      const want = digests.get(f.absPath);
      const had = note?.files[rel];
      return donorDir && want !== undefined && typeof had === 'string' && (had === want || had.startsWith(`${want} `)) ? joinClean(donorDir, rel) : undefined;
    },
    ...(donorDir ? { donorDir: (rel: string) => joinClean(donorDir, rel) } : {}),
    recorded: (rel) => {
      const had = note?.files[rel];
      const at = typeof had === 'string' ? had.indexOf(' ') : -1;
      return at < 0 ? undefined : had!.slice(at + 1);
    },
    written: (f, rel, record, taken) => {
      const d = digests.get(f.absPath);
      if (d !== undefined) written[rel] = record ? `${d} ${record}` : d;
      if (taken) trusted.set(rel, taken);
      else trusted.delete(rel);
    },
  };
  const blob = note?.blob;
  const read = store.readBlobRange?.bind(store);
  const members: MemberSource | undefined =
    blob && read && isMemberIndex(note?.members)
      ? { index: note.members, read: async (offset, length) => (await read(blob, offset, length)) ?? Buffer.alloc(0) }
      : undefined;
  return {
    reuse,
    members,
    trusted,
    save: async (layer, index) => {
      await store.writeMeta!(name, JSON.stringify({ diffId: layer.diffId, files: written, blob: layer.digest, members: index } satisfies DonorNote));
    },
    discard: async () => {
      if (donorDir) await fs.rm(donorDir, { recursive: true, force: true });
    },
  };
}

/** A note's member index, checked enough that reading by it asks for sane byte ranges. */
function isMemberIndex(v: unknown): v is MemberIndex {
  const i = v as MemberIndex | undefined;
  return (
    typeof i?.zlib === 'string' &&
    typeof i.level === 'number' &&
    Array.isArray(i.members) &&
    i.members.every((m) => typeof m?.sha === 'string' && typeof m.gzSha === 'string' && (m.first === undefined || typeof m.first === 'string') && Number.isSafeInteger(m.size) && Number.isSafeInteger(m.gzSize) && m.gzSize > 0 && m.gzSize <= 16 << 20)
  );
}
