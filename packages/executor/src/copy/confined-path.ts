import fs from 'node:fs/promises';
import path from 'node:path';
import { BuildError } from '@tbuild/errors';
import { resolveInRoot } from '../runtime/confined-path.ts';

/**
 * `mkdir -p` inside a rootfs, confined: every component is resolved the way a chroot would
 * (`resolveInRoot`), so an image's `/etc -> /host/etc` redirects only within the rootfs. New
 * directories get the owner and mode asked for (WORKDIR: the current USER; COPY: --chown).
 */
export async function mkdirAllInRoot(
  root: string,
  containerDir: string,
  opts: { uid?: number; gid?: number; mode?: number } = {},
): Promise<string> {
  let current = '/';
  let host = path.resolve(root);
  for (const part of containerDir.split('/').filter((s) => s !== '' && s !== '.')) {
    const r = resolveIn(root, path.posix.join(current, part), containerDir);
    current = r.containerPath;
    host = r.hostPath;
    const st = await fs.stat(host).catch(() => undefined);
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

/** Whether `containerPath` resolves (symlinks followed inside `root`) to a directory. */
export async function isDirectoryIn(root: string, containerPath: string): Promise<boolean> {
  try {
    return (await fs.stat(resolveInRoot(root, containerPath).hostPath)).isDirectory();
  } catch {
    return false;
  }
}

/** resolveInRoot, with its loop and not-a-directory failures turned into user errors. */
export function resolveIn(root: string, p: string, shown = p): { hostPath: string; containerPath: string } {
  try {
    return resolveInRoot(root, p);
  } catch (e) {
    const reason = (e as { reason?: string }).reason;
    if (reason === 'loop') throw new BuildError({ code: 'TB_EXEC_SYMLINK_LOOP', message: `too many levels of symbolic links resolving ${shown}` });
    if (reason === 'not-dir') throw new BuildError({ code: 'TB_EXEC_NOT_A_DIRECTORY', message: `cannot resolve ${shown}: not a directory` });
    throw e;
  }
}
