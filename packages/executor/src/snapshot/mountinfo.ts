import fs from 'node:fs';
import { viaHelper } from './sys-helper.ts';
import { execFileAsync } from '../exec-file.ts';

/** A path field of /proc/self/mountinfo with the kernel's octal escapes (`\\040` for a space) decoded. */
export function decodeMountinfoField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount points listed in /proc/self/mountinfo, with the kernel's octal escapes decoded. */
export function listMountPoints(): string[] {
  const text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (field) out.push(decodeMountinfoField(field));
  }
  return out;
}

/** Mount points at or below `dir`, deepest first so they can be unmounted in order. */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return listMountPoints()
    .filter((m) => m === dir || m.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

export function isMountPoint(p: string): boolean {
  return listMountPoints().includes(p);
}

/**
 * Unmounts `target`. A busy mount (a process still holding a file open) is retried briefly, then
 * detached lazily: cleanup must always finish, and a lazy detach still frees the mount once the
 * last user lets go.
 */
export async function unmount(target: string): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const r = await unmountOnce(target);
    if (r.ok || !isMountPoint(target)) return;
    if (!r.busy) break;
    await new Promise((r) => setTimeout(r, 50 * (attempt + 1)));
  }
  if (!isMountPoint(target)) return;
  const lazy = await viaHelper({ op: 'umount', target, detach: true });
  if (!lazy?.ok) await execFileAsync('umount', ['-l', target]);
}

/** One umount2(2) through the sys helper, else umount(8). */
async function unmountOnce(target: string): Promise<{ ok: true } | { ok: false; busy: boolean }> {
  const r = await viaHelper({ op: 'umount', target });
  if (r) return r.ok ? r : { ok: false, busy: r.errno === 'EBUSY' };
  try {
    await execFileAsync('umount', [target]);
    return { ok: true };
  } catch (e) {
    return { ok: false, busy: /busy/i.test(String((e as { stderr?: string }).stderr ?? e)) };
  }
}

export interface MountCommand {
  type: string;
  source: string;
  target: string;
  options: string;
  /** Working directory of the mount process, so relative paths inside `options` resolve there. */
  cwd?: string;
}

/** mount(2) (through the helper, else mount(8)); returns the failure instead of throwing, so callers can word the error. */
export async function mount(cmd: MountCommand): Promise<{ ok: true } | { ok: false; message: string }> {
  const r = await viaHelper({ op: 'mount', source: cmd.source, target: cmd.target, fstype: cmd.type, data: cmd.options, ...(cmd.cwd ? { cwd: cmd.cwd } : {}) });
  if (r) return r.ok ? { ok: true } : { ok: false, message: `mount: ${cmd.target}: ${r.message}` };
  try {
    await execFileAsync('mount', ['-t', cmd.type, '-o', cmd.options, cmd.source, cmd.target], { cwd: cmd.cwd });
    return { ok: true };
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    return { ok: false, message: (err.stderr || err.message).trim() };
  }
}
