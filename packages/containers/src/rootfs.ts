import fs from 'node:fs';
import path from 'node:path';
import { BuildError } from '@tbuild/errors';
import { isMountPoint, mount, resolveInRoot, unmount } from '@tbuild/executor';
import type { ContainerPaths } from './paths.ts';

/** The kernel refuses more lowers than this in one overlay mount. */
const MAX_LOWERS = 500;

/**
 * Mounts a writable overlay at `target` over `lowers` (top-most first), with the same options
 * the executor's snapshotter uses (index/redirect_dir/metacopy off), so the build differ reads
 * the upper dir the same way for `commit`. Lowers are referenced through short symlinks in
 * `links` and the mount runs with cwd `dir`, so long store paths do not overflow the one page
 * of mount options. The work dir is emptied first: overlay wants it empty and on the upper's fs.
 */
export async function mountOverlay(m: { dir: string; links: string; lowers: string[]; upper: string; work: string; target: string }): Promise<void> {
  if (m.lowers.length === 0) throw new Error('mountOverlay needs at least one lower');
  if (m.lowers.length > MAX_LOWERS) {
    throw new BuildError({ code: 'TB_EXEC_MOUNT_FAILED', message: `the image has ${m.lowers.length} layers; overlayfs mounts at most ${MAX_LOWERS}`, hint: 'squash the image into fewer layers' });
  }
  fs.rmSync(m.links, { recursive: true, force: true });
  fs.mkdirSync(m.links, { mode: 0o700 });
  const rel = m.lowers.map((lower, i) => {
    fs.symlinkSync(path.resolve(lower), path.join(m.links, i.toString(36)));
    return `${path.relative(m.dir, m.links)}/${i.toString(36)}`;
  });
  fs.rmSync(m.work, { recursive: true, force: true });
  fs.mkdirSync(m.work, { mode: 0o700 });
  const options = [`lowerdir=${rel.join(':')}`, `upperdir=${path.relative(m.dir, m.upper)}`, `workdir=${path.relative(m.dir, m.work)}`, 'index=off', 'redirect_dir=off', 'metacopy=off'].join(',');
  const res = await mount({ type: 'overlay', source: 'overlay', target: m.target, options, cwd: m.dir });
  if (!res.ok) {
    throw new BuildError({
      code: 'TB_EXEC_MOUNT_FAILED',
      message: `could not mount the container's root filesystem: ${res.message}`,
      hint: 'tbuild needs root and overlayfs; the store must not itself be on overlayfs',
    });
  }
}

/** Mounts the container's root: its upper dir over the init layer over the image's snapshots (top-most first). */
export async function mountContainerRoot(p: ContainerPaths, imageLowers: string[]): Promise<void> {
  if (isMountPoint(p.rootfs)) return;
  await mountOverlay({ dir: p.dir, links: p.links, lowers: [p.init, ...imageLowers], upper: p.upper, work: p.work, target: p.rootfs });
}

/** The executor's unmount: a busy mount is retried, then detached lazily, so cleanup always finishes. */
export async function unmountContainerRoot(p: ContainerPaths): Promise<void> {
  if (isMountPoint(p.rootfs)) await unmount(p.rootfs);
}

/** Mount points every container gets (the runtime's defaults) that nest nothing else. */
const RUNTIME_TARGETS: { target: string; kind: 'dir' | 'file' }[] = [
  { target: '/proc', kind: 'dir' },
  { target: '/dev', kind: 'dir' },
  { target: '/sys', kind: 'dir' },
  { target: '/etc/hosts', kind: 'file' },
  { target: '/etc/resolv.conf', kind: 'file' },
  { target: '/etc/hostname', kind: 'file' },
];

/**
 * Fills the init layer (docker's `-init` layer): the mount points the runtime and the
 * container's mounts need that the image lacks, so they never land in the upper dir and never in
 * a `commit`. It is built by mounting the image with `init` as the upper dir and creating the
 * stubs through the merged view, with paths resolved inside the root so an image symlink cannot
 * steer them to the host. `prepare` then runs with the image visible at `view` (to seed volumes).
 */
export async function buildInitLayer(
  p: ContainerPaths,
  imageLowers: string[],
  extra: { target: string; kind: 'dir' | 'file' }[],
  prepare?: (view: string) => Promise<void>,
): Promise<void> {
  const lowers = imageLowers.length > 0 ? imageLowers : [emptyDir(p)];
  await mountOverlay({ dir: p.dir, links: p.links, lowers, upper: p.init, work: p.work, target: p.rootfs });
  try {
    const all = [...RUNTIME_TARGETS, ...extra].map((t) => ({ ...t, target: path.posix.normalize(t.target) }));
    for (const t of all) {
      if (all.some((o) => o.target !== t.target && t.target.startsWith(`${o.target}/`) && o.kind === 'dir' && isRuntimeTarget(o.target))) continue;
      ensureStub(p.rootfs, t.target, t.kind);
    }
    await prepare?.(p.rootfs);
  } finally {
    await unmountContainerRoot(p);
  }
}

function isRuntimeTarget(t: string): boolean {
  return t === '/proc' || t === '/dev' || t === '/sys';
}

function emptyDir(p: ContainerPaths): string {
  const d = path.join(p.dir, 'e');
  fs.mkdirSync(d, { recursive: true, mode: 0o755 });
  return d;
}

function ensureStub(rootfs: string, target: string, kind: 'dir' | 'file'): void {
  const parts = target.split('/').filter((c) => c !== '');
  let current = '/';
  for (let i = 0; i < parts.length; i++) {
    const r = resolveInRoot(rootfs, path.posix.join(current, parts[i]!));
    current = r.containerPath;
    if (fs.existsSync(r.hostPath)) continue;
    if (!fs.existsSync(path.dirname(r.hostPath))) fs.mkdirSync(path.dirname(r.hostPath), { recursive: true, mode: 0o755 });
    if (i === parts.length - 1 && kind === 'file') fs.writeFileSync(r.hostPath, '', { mode: 0o644, flag: 'wx' });
    else fs.mkdirSync(r.hostPath, { mode: 0o755 });
  }
}
