import fs from 'node:fs';
import path from 'node:path';
import { isErrno } from '../store/fs-util.ts';
import { cacheError, layerInvalid } from '../errors.ts';

/** Options for resolveInRoot; `entry` only labels errors. */
export interface ResolveOptions {
  /** Create missing directories (mode 0755) instead of reporting the path as absent. */
  create: boolean;
  maxHops: number;
  entry: string;
  onCreate?: (real: string) => void;
}

/**
 * Resolves directory components inside `root` the way a chroot would (securejoin semantics):
 * each component is lstat'ed, symlinks are expanded with `..` clamped at the root and absolute
 * targets re-rooted, so the result is a path of real directories under `root`. Returns
 * undefined when `create` is false and a component is missing.
 *
 * Safe because nothing but this extraction writes below `root` while it runs (a fresh
 * per-layer dir, or an ADD destination the builder owns); the kernel re-walks the same real
 * directories when the caller then uses the path. Synchronous on purpose: a few microseconds
 * per call, against a thread-pool round trip per component for the async API.
 */
export function resolveInRoot(root: string, comps: readonly string[], opts: ResolveOptions): string | undefined {
  const stack: string[] = [];
  const queue = [...comps];
  let hops = 0;
  while (queue.length) {
    const c = queue.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      stack.pop();
      continue;
    }
    const cand = path.join(root, ...stack, c);
    let st;
    try {
      st = fs.lstatSync(cand);
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
      if (!opts.create) return undefined;
      fs.mkdirSync(cand, { mode: 0o755 });
      opts.onCreate?.(cand);
      stack.push(c);
      continue;
    }
    if (st.isDirectory()) {
      stack.push(c);
    } else if (st.isSymbolicLink()) {
      if (++hops > opts.maxHops) {
        throw cacheError('TB_CACHE_LAYER_INVALID', `unsafe layer entry ${JSON.stringify(opts.entry)}: more than ${opts.maxHops} symlinks in its path (loop?)`);
      }
      const target = fs.readlinkSync(cand);
      if (target.startsWith('/')) stack.length = 0;
      queue.unshift(...target.split('/'));
    } else {
      throw layerInvalid(opts.entry, `${JSON.stringify(path.relative(root, cand))} is not a directory`);
    }
  }
  return path.join(root, ...stack);
}
