import fs from 'node:fs';
import path from 'node:path';
import { mountLowerStack } from './lower-stack.ts';
import { unmount } from './mountinfo.ts';
import { execFileAsync } from '../exec-file.ts';

/**
 * Copies the merged view of `lowers` (top-most first) into `dest`. The result is the bottom of
 * the stack, so nothing lies below it for whiteouts to hide: reading through a read-only overlay
 * mount applies every whiteout and opaque marker of these lowers, and the copy needs none.
 * `cp -a` keeps owners, modes, timestamps, hard links and xattrs (security.capability); the
 * overlay's own trusted.overlay.* xattrs are not visible through the mount, so none leak.
 *
 * `scratch` is a private dir for the temporary mount and symlinks; the caller removes it.
 */
export async function flattenLowers(lowers: string[], dest: string, scratch: string, maxLowers: number): Promise<void> {
  let stack = lowers;
  if (stack.length > maxLowers) {
    // Too deep even for this mount: flatten the bottom part first, then stack the rest on it.
    const inner = path.join(scratch, 'i');
    const innerDest = path.join(scratch, 'd');
    fs.mkdirSync(inner);
    fs.mkdirSync(innerDest);
    await flattenLowers(stack.slice(maxLowers - 1), innerDest, inner, maxLowers);
    stack = [...stack.slice(0, maxLowers - 1), innerDest];
  }
  const empty = path.join(scratch, 'e');
  const mnt = path.join(scratch, 'm');
  fs.mkdirSync(empty, { recursive: true });
  fs.mkdirSync(mnt, { recursive: true });
  // A lower-only overlay needs two lowers; the empty dir also turns a single lower's whiteout
  // devices into nothing, as they should be at the bottom.
  await mountLowerStack({ dir: scratch, lowers: [...stack, empty], target: mnt, readonly: true });
  try {
    await execFileAsync('cp', ['-a', '--reflink=auto', '--', `${mnt}/.`, dest], { maxBuffer: 16 << 20 });
  } finally {
    await unmount(mnt);
  }
}
