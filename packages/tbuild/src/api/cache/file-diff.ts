import type { ExplainFile } from './explain-record.ts';

/** How two listings of the same context selection differ, by path. */
export interface FileDiff {
  changed: Array<{ path: string; what: string }>;
  added: string[];
  removed: string[];
}

/** Both listings are sorted by path (ContextDigest.files), so one merge pass compares them. */
export function diffFiles(before: ExplainFile[], after: ExplainFile[]): FileDiff {
  const out: FileDiff = { changed: [], added: [], removed: [] };
  const a = new Map(before.map((f) => [f.path, f]));
  const b = new Map(after.map((f) => [f.path, f]));
  for (const [p, f] of b) {
    const old = a.get(p);
    if (!old) out.added.push(p);
    else if (old.digest !== f.digest) out.changed.push({ path: p, what: whatChanged(old, f) });
  }
  for (const p of a.keys()) if (!b.has(p)) out.removed.push(p);
  const byPath = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
  out.changed.sort((x, y) => byPath(x.path, y.path));
  out.added.sort(byPath);
  out.removed.sort(byPath);
  return out;
}

// The per-file digest covers type, mode, owner, link target and content together: whatever
// metadata is equal on both sides is ruled out, and only then is it the content.
function whatChanged(a: ExplainFile, b: ExplainFile): string {
  if (a.type !== b.type) return `type ${a.type} -> ${b.type}`;
  const parts: string[] = [];
  if (a.mode !== b.mode) parts.push(`mode ${octal(a.mode)} -> ${octal(b.mode)}`);
  if (a.uid !== b.uid || a.gid !== b.gid) parts.push(`owner ${a.uid}:${a.gid} -> ${b.uid}:${b.gid}`);
  if ((a.link ?? '') !== (b.link ?? '')) parts.push(`link target ${a.link ?? ''} -> ${b.link ?? ''}`);
  return parts.length ? parts.join(', ') : 'content';
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

const LIST = 3;

/** `src/app.ts changed (content), 2 files added`: names while few, counts beyond. */
export function describeFileDiff(d: FileDiff): string {
  const parts: string[] = [];
  if (d.changed.length === 1) parts.push(`${d.changed[0]!.path} changed (${d.changed[0]!.what})`);
  else if (d.changed.length > 1 && d.changed.length <= LIST) parts.push(`${d.changed.map((c) => `${c.path} (${c.what})`).join(', ')} changed`);
  else if (d.changed.length > LIST) parts.push(`${d.changed.length} files changed (${d.changed.slice(0, LIST).map((c) => c.path).join(', ')}, ...)`);
  if (d.added.length === 1) parts.push(`${d.added[0]} added`);
  else if (d.added.length > 1) parts.push(`${d.added.length} files added`);
  if (d.removed.length === 1) parts.push(`${d.removed[0]} removed`);
  else if (d.removed.length > 1) parts.push(`${d.removed.length} files removed`);
  // Same paths, same per-file digests, different selection digest: the copy order or a
  // destination name differs (e.g. sources reordered).
  return parts.length ? parts.join(', ') : 'same files, selected in a different order';
}
