import fs from 'node:fs';
import path from 'node:path';

const MAX_SYMLINK_HOPS = 40;

/** Why a path could not be resolved inside a root. */
export class ConfinedPathError extends Error {
  constructor(
    readonly reason: 'loop' | 'not-dir',
    readonly input: string,
  ) {
    super(reason === 'loop' ? `too many levels of symbolic links: ${input}` : `not a directory: ${input}`);
  }
}

/**
 * Resolves `p` (a path as seen inside the container) to a host path below `root`, the way a
 * chroot would: one component at a time, `..` clamps at the root, absolute symlink targets
 * restart at the root, relative ones continue from their directory (securejoin semantics).
 * Missing components are appended as-is, so the result may not exist. The returned path never
 * leaves `root`, whatever symlinks the image holds.
 *
 * Returns the host path and the container path it corresponds to after resolution.
 */
export function resolveInRoot(root: string, p: string): { hostPath: string; containerPath: string } {
  const rootAbs = path.resolve(root);
  let pending = splitComponents(p);
  const resolved: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const host = path.join(rootAbs, ...resolved, part);
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(host);
    } catch {
      st = undefined;
    }
    if (st?.isSymbolicLink()) {
      if (++hops > MAX_SYMLINK_HOPS) throw new ConfinedPathError('loop', p);
      const target = fs.readlinkSync(host);
      if (target.startsWith('/')) resolved.length = 0;
      pending = [...splitComponents(target), ...pending];
      continue;
    }
    if (st && !st.isDirectory() && pending.some((c) => c !== '.' && c !== '..')) {
      throw new ConfinedPathError('not-dir', p);
    }
    resolved.push(part);
  }
  return { hostPath: path.join(rootAbs, ...resolved), containerPath: `/${resolved.join('/')}` };
}

function splitComponents(p: string): string[] {
  return p.split('/').filter((c) => c !== '');
}
