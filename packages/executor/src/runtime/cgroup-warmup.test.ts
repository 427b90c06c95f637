import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isRoot, NEEDS_ROOT } from '../../../../test/support/root.ts';
import { ownCgroupProcsFile, warmCgroupAttach } from './cgroup-warmup.ts';

const HYBRID_CGROUP = ['9:name=systemd:/', '8:pids:/ci/job', '4:memory:/ci/job', '0::/ci/job', ''].join('\n');
const HYBRID_MOUNTS = [
  '30 25 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755',
  '31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw',
  '35 30 0:31 / /sys/fs/cgroup/pids rw,nosuid shared:14 - cgroup cgroup rw,pids',
  '',
].join('\n');

describe('ownCgroupProcsFile', () => {
  it('takes the unified hierarchy on a hybrid machine', () => {
    expect(ownCgroupProcsFile(HYBRID_CGROUP, HYBRID_MOUNTS)).toBe('/sys/fs/cgroup/unified/ci/job/cgroup.procs');
  });

  it('takes the root cgroup of a cgroup v2 machine', () => {
    const mounts = '29 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n';
    expect(ownCgroupProcsFile('0::/\n', mounts)).toBe('/sys/fs/cgroup/cgroup.procs');
  });

  it('falls back to v1 pids without a unified hierarchy', () => {
    const cgroup = HYBRID_CGROUP.replace('0::/ci/job\n', '');
    const mounts = HYBRID_MOUNTS.split('\n').filter((l) => !l.includes('cgroup2')).join('\n');
    expect(ownCgroupProcsFile(cgroup, mounts)).toBe('/sys/fs/cgroup/pids/ci/job/cgroup.procs');
  });

  it("maps a path through a container's subtree mount, and refuses one outside it", () => {
    const mounts = '40 30 0:27 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n';
    expect(ownCgroupProcsFile('0::/docker/abc/build\n', mounts)).toBe('/sys/fs/cgroup/build/cgroup.procs');
    expect(ownCgroupProcsFile('0::/docker/abc\n', mounts)).toBe('/sys/fs/cgroup/cgroup.procs');
    expect(ownCgroupProcsFile('0::/docker/abcd\n', mounts)).toBeUndefined();
  });

  it('decodes escaped mount points and gives up without any cgroup mount', () => {
    const mounts = '31 30 0:27 / /mnt/cg\\040v2 rw - cgroup2 cgroup2 rw\n';
    expect(ownCgroupProcsFile('0::/a\n', mounts)).toBe('/mnt/cg v2/a/cgroup.procs');
    expect(ownCgroupProcsFile(HYBRID_CGROUP, '30 25 0:26 / /sys/fs/cgroup ro - tmpfs tmpfs ro\n')).toBeUndefined();
  });
});

describe.skipIf(!isRoot)(`warmCgroupAttach (${NEEDS_ROOT})`, () => {
  it("takes the write where this machine's cgroup file is writable, and moves the process nowhere", async () => {
    const before = fs.readFileSync('/proc/self/cgroup', 'utf8');
    const file = ownCgroupProcsFile(before, fs.readFileSync('/proc/self/mountinfo', 'utf8'));
    let writable = file !== undefined;
    try {
      if (file) fs.accessSync(file, fs.constants.W_OK);
    } catch {
      writable = false;
    }
    expect(await warmCgroupAttach()).toBe(writable);
    expect(await warmCgroupAttach()).toBe(writable);
    expect(fs.readFileSync('/proc/self/cgroup', 'utf8')).toBe(before);
    if (file) expect(fs.readFileSync(file, 'utf8').split('\n')).toContain(String(process.pid));
  });
});
