import fs from 'node:fs/promises';
import path from 'node:path';
import { BuildError } from '@tbuild/errors';

const MAX_LINK_HOPS = 40;

/**
 * Resolves a container path inside `root` the way the kernel would inside a chroot: every
 * symlink on the way is followed with `/` meaning `root`, and `..` never climbs above `root`.
 * An image's `/etc -> /host/etc` or a WORKDIR through `../../..` therefore stays confined.
 * With `followLast: false` the final component is not followed (for creating or replacing it).
 * Missing components are fine: the rest of the path is joined as written.
 */
export async function resolveInRoot(root: string, containerPath: string, opts: { followLast?: boolean } = {}): Promise<string> {
  const followLast = opts.followLast ?? true;
  let pending = splitPath(containerPath);
  const done: string[] = [];
  let hops = 0;
  let missing = false;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '..') {
      done.pop();
      continue;
    }
    if (missing) {
      done.push(part);
      continue;
    }
    const candidate = path.join(root, ...done, part);
    const isLast = pending.length === 0;
    let st;
    try {
      st = await fs.lstat(candidate);
    } catch {
      // Nothing exists below a missing component, so the rest is plain text.
      missing = true;
      done.push(part);
      continue;
    }
    if (st.isSymbolicLink() && (!isLast || followLast)) {
      if (++hops > MAX_LINK_HOPS) {
        throw new BuildError({ code: 'TB_EXEC_SYMLINK_LOOP', message: `too many levels of symbolic links resolving ${containerPath}` });
      }
      const target = await fs.readlink(candidate);
      if (target.startsWith('/')) done.length = 0;
      pending = [...splitPath(target), ...pending];
      continue;
    }
    done.push(part);
  }
  return path.join(root, ...done);
}

function splitPath(p: string): string[] {
  return p.split('/').filter((s) => s !== '' && s !== '.');
}

/** `mkdir -p` inside root, confined, giving new directories the owner and mode asked for. */
export async function mkdirAllInRoot(
  root: string,
  containerDir: string,
  opts: { uid?: number; gid?: number; mode?: number } = {},
): Promise<string> {
  const parts = splitPath(containerDir);
  let current = '/';
  let host = root;
  for (const part of parts) {
    current = path.posix.join(current, part);
    host = await resolveInRoot(root, current);
    let st;
    try {
      st = await fs.stat(host);
    } catch {
      st = undefined;
    }
    if (st && !st.isDirectory()) {
      throw new BuildError({ code: 'TB_EXEC_NOT_A_DIRECTORY', message: `cannot create directory ${containerDir}: ${current} is not a directory` });
    }
    if (!st) {
      // A link target may name several missing levels at once (e.g. `/abs -> /a/b`).
      await fs.mkdir(host, { recursive: true, mode: opts.mode ?? 0o755 });
      await fs.chmod(host, opts.mode ?? 0o755);
      if (opts.uid !== undefined || opts.gid !== undefined) await fs.lchown(host, opts.uid ?? 0, opts.gid ?? 0);
    }
  }
  return host;
}
