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
 * `lowers` (top-most first) without the repeats of a dir already higher in the stack. Two steps
 * that make the same change give one layer, so one snapshot can come twice in an image's
 * stack, and overlayfs refuses a mount whose lowers overlap (ELOOP). The lower copy is never
 * seen: every path it holds, whiteouts and opaque markers included, the higher copy holds too
 * and shows first.
 */
export function uniqueLowers(lowers: string[]): string[] {
  const seen = new Set<string>();
  return lowers.filter((l) => {
    const abs = path.resolve(l);
    if (seen.has(abs)) return false;
    seen.add(abs);
    return true;
  });
}

/**
 * Builds the overlay options. Lowers go in as absolute paths when they all fit in the option
 * page and none holds a character overlay would read as a separator (`,` `:` `\\`): the common
 * case, with no files to make per mount. Otherwise each lower gets a symlink `l/<n>` and mount
 * runs with cwd `dir`, so the option string costs a few bytes per lower however long the
 * store's paths are (containers-storage does the same with its `l/` links). Overlay resolves
 * the symlinks once at mount time. Upper and work dirs are relative to `dir` either way.
 */
export function lowerStackOptions(m: LowerStackMount): string {
  // index/metacopy/redirect_dir off: the differ reads the upper dir as a plain tree and cannot
  // follow redirects or metadata-only copy-ups (BuildKit refuses them for the same reason).
  const rest = m.readonly ? ['index=off', 'redirect_dir=off'] : [`upperdir=${m.upper}`, `workdir=${m.work}`, 'index=off', 'redirect_dir=off', 'metacopy=off'];
  const absolute = m.lowers.map((lower) => path.resolve(lower));
  const direct = [`lowerdir=${absolute.join(':')}`, ...rest].join(',');
  if (absolute.every((p) => !/[,:\\]/.test(p)) && Buffer.byteLength(direct) <= MAX_OPTIONS_BYTES) return direct;
  // The dir is new for every mount, so no link is there yet.
  const links = path.join(m.dir, 'l');
  fs.mkdirSync(links, { recursive: true });
  const rel = absolute.map((lower, i) => {
    fs.symlinkSync(lower, path.join(links, i.toString(36)));
    return `l/${i.toString(36)}`;
  });
  return [`lowerdir=${rel.join(':')}`, ...rest].join(',');
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
