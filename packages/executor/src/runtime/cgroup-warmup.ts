import fs from 'node:fs';
import { decodeMountinfoField } from '../snapshot/mountinfo.ts';

/*
 * `runc run` moves the container's first process into its cgroups. Each such write takes the
 * kernel's global cgroup threadgroup lock, and the first writer after a quiet spell waits out an
 * RCU grace period before it gets it: 10-15 ms on the benchmark machine, half of a `runc run`.
 * Writers that follow within a grace period or so do not wait. So just before runc starts, this
 * writes tbuild's own pid into the cgroup tbuild is already in, on a thread-pool thread: the wait
 * starts at once, while runc is still starting, and runc's own write finds the lock ready. Moving
 * a process into the cgroup it is in changes nothing. Any failure (no cgroup file system, a
 * read-only one, not root) only means runc waits as before.
 */

/** The cgroup.procs file of the cgroup this process is in, from /proc/self/{cgroup,mountinfo} text. */
export function ownCgroupProcsFile(cgroupText: string, mountinfoText: string): string | undefined {
  const memberships = cgroupText
    .split('\n')
    .map((line) => line.split(':'))
    .filter((f) => f.length >= 3)
    .map(([, controllers, ...rest]) => ({ controllers: controllers!, path: rest.join(':') }));
  const mounts = mountinfoText
    .split('\n')
    .map((line) => line.split(' '))
    .filter((f) => f.length > 9)
    .map((f) => {
      const dash = f.indexOf('-');
      return { root: decodeMountinfoField(f[3]!), point: decodeMountinfoField(f[4]!), fstype: f[dash + 1], superOpts: (f[dash + 3] ?? '').split(',') };
    });
  // The unified hierarchy first (cgroup v2 or hybrid), then v1's pids, which has no attach side effects.
  const v2 = memberships.find((m) => m.controllers === '');
  const v2Mount = mounts.find((m) => m.fstype === 'cgroup2');
  if (v2 && v2Mount) {
    const file = procsFile(v2Mount, v2.path);
    if (file) return file;
  }
  const pids = memberships.find((m) => m.controllers.split(',').includes('pids'));
  const pidsMount = mounts.find((m) => m.fstype === 'cgroup' && m.superOpts.includes('pids'));
  return pids && pidsMount ? procsFile(pidsMount, pids.path) : undefined;
}

function procsFile(mount: { root: string; point: string }, cgroupPath: string): string | undefined {
  // A container's cgroup mount may show only a subtree; the path must lie inside it.
  const root = mount.root === '/' ? '' : mount.root;
  if (root && cgroupPath !== root && !cgroupPath.startsWith(`${root}/`)) return undefined;
  const inside = cgroupPath.slice(root.length).replace(/^\/+/, '');
  return inside ? `${mount.point}/${inside}/cgroup.procs` : `${mount.point}/cgroup.procs`;
}

let procsFd: number | null | undefined;

function openProcsFile(): number | null {
  try {
    const file = ownCgroupProcsFile(fs.readFileSync('/proc/self/cgroup', 'utf8'), fs.readFileSync('/proc/self/mountinfo', 'utf8'));
    return file ? fs.openSync(file, 'w') : null;
  } catch {
    return null;
  }
}

/**
 * Starts the cgroup lock's grace period ahead of a `runc run`. Resolves true once the kernel took
 * the write, false when this machine gives no way to; never rejects, and nothing needs to wait
 * for it.
 */
export function warmCgroupAttach(): Promise<boolean> {
  procsFd ??= openProcsFile();
  const fd = procsFd;
  if (fd === null) return Promise.resolve(false);
  const pid = Buffer.from(String(process.pid));
  return new Promise((resolve) => fs.write(fd, pid, 0, pid.length, 0, (err) => resolve(!err)));
}
