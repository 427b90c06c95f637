import fs from 'node:fs';
import path from 'node:path';
import { BuildError } from '@tbuild/errors';
import { mount } from './mountinfo.ts';

/** The kernel copies overlay mount options into one page; stay clear of it. */
export const MAX_OPTIONS_BYTES = 4000;

export interface LowerStackMount {
  /** A private dir: short symlinks to each lower are made in `<dir>/l/`, and mount runs with cwd `dir`. */
  dir: string;
  /** Top-most first. */
  lowers: string[];
  target: string;
  readonly?: boolean;
  /** Relative to `dir`, when writable. */
  upper?: string;
  work?: string;
}

/**
 * Builds the overlay options with short relative paths: each lower gets a symlink `l/<n>` and
 * mount(8) runs with cwd `dir`, so the option string costs a few bytes per lower however long
 * the store's paths are (containers-storage does the same with its `l/` links). Overlay resolves
 * the symlinks once at mount time.
 */
export function lowerStackOptions(m: LowerStackMount): string {
  const links = path.join(m.dir, 'l');
  fs.mkdirSync(links, { recursive: true });
  const rel = m.lowers.map((lower, i) => {
    const link = path.join(links, i.toString(36));
    fs.rmSync(link, { force: true });
    fs.symlinkSync(path.resolve(lower), link);
    return `l/${i.toString(36)}`;
  });
  // index/metacopy/redirect_dir off: the differ reads the upper dir as a plain tree and cannot
  // follow redirects or metadata-only copy-ups (BuildKit refuses them for the same reason).
  const parts = [`lowerdir=${rel.join(':')}`];
  if (!m.readonly) parts.push(`upperdir=${m.upper}`, `workdir=${m.work}`);
  parts.push('index=off', 'redirect_dir=off');
  if (!m.readonly) parts.push('metacopy=off');
  return parts.join(',');
}

export async function mountLowerStack(m: LowerStackMount): Promise<void> {
  const options = lowerStackOptions(m);
  if (Buffer.byteLength(options) > MAX_OPTIONS_BYTES) throw new Error(`overlay options too long (${options.length} bytes)`);
  const res = await mount({ type: 'overlay', source: 'overlay', target: m.target, options, cwd: m.dir });
  if (!res.ok) {
    throw new BuildError({
      code: 'TB_EXEC_MOUNT_FAILED',
      message: `could not mount the overlay root filesystem: ${res.message}`,
      hint:
        'tbuild needs overlayfs as root; the state dir must not itself be on overlayfs ' +
        '(e.g. inside a container): put it on a real filesystem with --state-dir',
    });
  }
}
