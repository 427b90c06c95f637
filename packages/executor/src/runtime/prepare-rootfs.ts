import fs from 'node:fs';
import path from 'node:path';
import { BuildError } from '@tbuild/errors';
import { ConfinedPathError, resolveInRoot } from './confined-path.ts';
import type { RunRequest } from './container-runtime.ts';
import type { MountStubs } from './mount-stubs.ts';
import { DEFAULT_HOSTNAME, defaultHostsFile, defaultMounts, type EtcFiles } from './oci-spec.ts';

// Checks and preparation of a container's root filesystem before runc sees it.

/**
 * An image whose /proc, /sys or /dev is a symlink or a file is refused: runc would mount the
 * kernel filesystems wherever the symlink points (inside the rootfs, but not where the RUN
 * expects them), and runc releases before 1.3.6 follow a /dev symlink while setting up device
 * nodes (CVE-2026-41579). Docker masks these with its init layer; a build image has no
 * legitimate reason to ship them.
 */
export function checkKernelMountPoints(rootfs: string): void {
  for (const p of ['proc', 'sys', 'dev']) {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(path.join(rootfs, p));
    } catch {
      continue;
    }
    if (!st.isDirectory()) {
      throw new BuildError({
        code: 'TB_EXEC_ROOTFS_UNSAFE',
        message: `the image's /${p} is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}; refusing to run a container in it`,
        hint: `make /${p} an empty directory in the base image`,
      });
    }
  }
}

/**
 * Normalises the working dir and refuses one under /proc, before or after resolving symlinks
 * in the image: `WORKDIR /proc/self/fd/N` reached host directories through a leaked fd in
 * runc < 1.1.12 (CVE-2024-21626), and nothing under /proc is a sane working dir anyway.
 */
export function checkCwd(rootfs: string, cwd: string): string {
  if (!cwd.startsWith('/')) throw new Error(`cwd must be absolute: ${cwd}`);
  const normal = path.posix.normalize(cwd);
  const bad = (p: string) => p === '/proc' || p.startsWith('/proc/');
  let resolved: string;
  try {
    resolved = resolveInRoot(rootfs, normal).containerPath;
  } catch (e) {
    if (!(e instanceof ConfinedPathError)) throw e;
    throw workdirError(cwd, e.message);
  }
  if (bad(normal) || bad(resolved)) throw workdirError(cwd, 'a working directory under /proc is not allowed');
  return resolved;
}

function workdirError(cwd: string, why: string): BuildError {
  return new BuildError({ code: 'TB_EXEC_WORKDIR_INVALID', message: `invalid working directory "${cwd}": ${why}` });
}

/** Creates a missing working dir owned by the RUN's user, like BuildKit; existing dirs are untouched. */
export function ensureCwd(rootfs: string, cwd: string, user: RunRequest['user']): void {
  let current = '/';
  for (const part of cwd.split('/').filter((c) => c !== '')) {
    const r = resolveInRoot(rootfs, path.posix.join(current, part));
    current = r.containerPath;
    if (fs.existsSync(r.hostPath)) {
      if (!fs.statSync(r.hostPath).isDirectory()) throw workdirError(cwd, `${current} is not a directory`);
      continue;
    }
    fs.mkdirSync(r.hostPath, { mode: 0o755 });
    fs.chownSync(r.hostPath, user.uid, user.gid);
  }
}

export function prepareMountPoints(stubs: MountStubs, req: RunRequest): void {
  const targets: { target: string; kind: 'dir' | 'file' }[] = [
    ...defaultMounts().map((m) => ({ target: m.destination, kind: 'dir' as const })),
    { target: '/etc/hosts', kind: 'file' },
    { target: '/etc/resolv.conf', kind: 'file' },
    { target: '/etc/hostname', kind: 'file' },
  ];
  for (const m of req.mounts ?? []) {
    if (!m.target.startsWith('/') || path.posix.normalize(m.target) === '/') throw new Error(`bad mount target: ${m.target}`);
    const kind = m.type === 'bind' && !fs.statSync(m.source).isDirectory() ? 'file' : 'dir';
    targets.push({ target: m.target, kind });
  }
  // Targets inside another mount (e.g. /dev/pts inside the /dev tmpfs) are runc's business, not the rootfs's.
  const all = targets.map((t) => path.posix.normalize(t.target));
  for (const t of targets) {
    const n = path.posix.normalize(t.target);
    if (all.some((o) => o !== n && n.startsWith(`${o}/`))) continue;
    stubs.ensure(n, t.kind);
  }
}

export function writeEtcFiles(bundle: string, req: RunRequest): EtcFiles {
  const hostname = req.hostname ?? DEFAULT_HOSTNAME;
  const files: EtcFiles = {
    hosts: path.join(bundle, 'hosts'),
    resolvConf: path.join(bundle, 'resolv.conf'),
    hostname: path.join(bundle, 'hostname'),
  };
  fs.writeFileSync(files.hosts, req.hostsFile ?? defaultHostsFile(hostname), { mode: 0o644 });
  fs.writeFileSync(files.resolvConf, req.resolvConf ?? hostResolvConf(), { mode: 0o644 });
  fs.writeFileSync(files.hostname, `${hostname}\n`, { mode: 0o644 });
  return files;
}

/** The host's /etc/resolv.conf, or nothing when it cannot be read. */
export function hostResolvConf(): string {
  try {
    return fs.readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '';
  }
}
