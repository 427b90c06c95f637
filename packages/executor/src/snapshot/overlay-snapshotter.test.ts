import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setAttributeSync } from '@napi-rs/xattr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, NEEDS_ROOT, tempDir } from '../../../../test/support/root.ts';
import { listMountPoints, mountsUnder } from './mountinfo.ts';
import { cleanupStaleSnapshots, OverlaySnapshotter } from './overlay-snapshotter.ts';

/** Writes one overlay-format snapshot dir: files, whiteouts (0/0 char devices), opaque dirs. */
function makeLayer(dir: string, spec: { files?: Record<string, string>; whiteouts?: string[]; opaque?: string[] }): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const [p, content] of Object.entries(spec.files ?? {})) {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    fs.writeFileSync(path.join(dir, p), content);
  }
  for (const p of spec.whiteouts ?? []) {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    execFileSync('mknod', [path.join(dir, p), 'c', '0', '0']);
  }
  for (const p of spec.opaque ?? []) {
    fs.mkdirSync(path.join(dir, p), { recursive: true });
    setAttributeSync(path.join(dir, p), 'trusted.overlay.opaque', 'y');
  }
  return dir;
}

describe.skipIf(!isRoot)(`OverlaySnapshotter (${NEEDS_ROOT})`, () => {
  let tmp: { dir: string; cleanup: () => void };
  let stateDir: string;
  let deep: string[]; // top-most first

  beforeAll(() => {
    tmp = tempDir('tbuild-snap-');
    stateDir = path.join(tmp.dir, 'state');
    // 150 layers, bottom = layer 0: each adds f<i>, rewrites `top`, and the layer above the
    // bottom deletes `gone` and makes `d/` opaque (hiding d/old from the bottom layer).
    const layers: string[] = [];
    for (let i = 0; i < 150; i++) {
      const spec =
        i === 0
          ? { files: { [`f${i}`]: `${i}`, top: `${i}`, gone: 'x', 'd/old': 'old' } }
          : i === 1
            ? { files: { [`f${i}`]: `${i}`, top: `${i}`, 'd/new': 'new' }, whiteouts: ['gone'], opaque: ['d'] }
            : { files: { [`f${i}`]: `${i}`, top: `${i}` } };
      layers.push(makeLayer(path.join(tmp.dir, 'store', 'a-rather-long-snapshot-directory-name', `sha256-${String(i).padStart(64, '0')}`), spec));
    }
    deep = layers.reverse();
  });

  afterAll(() => {
    if (tmp) {
      for (const m of mountsUnder(tmp.dir)) execFileSync('umount', ['-l', m]);
      tmp.cleanup();
    }
  });

  function expectDeepView(rootfs: string): void {
    expect(fs.readFileSync(path.join(rootfs, 'top'), 'utf8')).toBe('149');
    for (const i of [0, 1, 77, 149]) expect(fs.readFileSync(path.join(rootfs, `f${i}`), 'utf8')).toBe(`${i}`);
    expect(fs.readdirSync(rootfs).filter((n) => n.startsWith('f'))).toHaveLength(150);
    expect(fs.existsSync(path.join(rootfs, 'gone'))).toBe(false);
    expect(fs.readdirSync(path.join(rootfs, 'd'))).toEqual(['new']);
  }

  it('mounts FROM scratch over an empty lower, collects writes in upper, and cleans up', async () => {
    const snap = await new OverlaySnapshotter({ stateDir }).prepare({ lowers: [], key: 'scratch' });
    expect(listMountPoints()).toContain(snap.rootfs);
    expect(fs.readdirSync(snap.rootfs)).toEqual([]);
    fs.writeFileSync(path.join(snap.rootfs, 'hello'), 'hi');
    await snap.release();
    expect(listMountPoints()).not.toContain(snap.rootfs);
    expect(fs.readFileSync(path.join(snap.upper, 'hello'), 'utf8')).toBe('hi');
    expect(fs.existsSync(snap.work)).toBe(false);
    await snap.discard();
    expect(fs.existsSync(snap.upper)).toBe(false);
  });

  it('stacks 150 lowers in one mount with short relative lowerdir paths', async () => {
    const snap = await new OverlaySnapshotter({ stateDir, maxLowers: 200 }).prepare({ lowers: deep, key: 'deep' });
    try {
      expect(fs.existsSync(path.join(path.dirname(snap.rootfs), 'f'))).toBe(false); // not flattened
      expectDeepView(snap.rootfs);
    } finally {
      await snap.discard();
    }
    expect(mountsUnder(stateDir)).toEqual([]);
  });

  it('mounts a shallow stack by its absolute paths, and one whose paths overlay would split through links', async () => {
    const odd = makeLayer(path.join(tmp.dir, 'odd,dir:with\\separators'), { files: { f1: '1', top: '1' } });
    for (const [lowers, links] of [
      [deep.slice(147), false],
      [[deep[147]!, odd, deep[149]!], true],
    ] as const) {
      const snap = await new OverlaySnapshotter({ stateDir }).prepare({ lowers: [...lowers], key: 'short' });
      try {
        expect(fs.existsSync(path.join(path.dirname(snap.rootfs), 'l'))).toBe(links);
        expect(fs.readFileSync(path.join(snap.rootfs, 'top'), 'utf8')).toBe('2');
        for (const i of [0, 1, 2]) expect(fs.readFileSync(path.join(snap.rootfs, `f${i}`), 'utf8')).toBe(`${i}`);
      } finally {
        await snap.discard();
      }
    }
    expect(mountsUnder(stateDir)).toEqual([]);
  });

  it('flattens the bottom layers when the stack is deeper than maxLowers, keeping whiteout semantics', async () => {
    const snap = await new OverlaySnapshotter({ stateDir, maxLowers: 40 }).prepare({ lowers: deep, key: 'flat' });
    try {
      expect(fs.existsSync(path.join(path.dirname(snap.rootfs), 'f'))).toBe(true);
      expectDeepView(snap.rootfs);
      // Changes still land in the upper dir only.
      fs.rmSync(path.join(snap.rootfs, 'f0'));
      expect(fs.lstatSync(path.join(snap.upper, 'f0')).isCharacterDevice()).toBe(true);
    } finally {
      await snap.discard();
    }
    expect(mountsUnder(stateDir)).toEqual([]);
  });

  it('mounts a stack that holds one snapshot twice (two steps made the same change), writable and read-only', async () => {
    // Top-most first: `same` rewrites `top` and deletes `gone` again above `mid`, which brought
    // `gone` back. Overlay refuses overlapping lowers (ELOOP); the higher copy is the one seen.
    const same = makeLayer(path.join(tmp.dir, 'same'), { files: { top: 'same', s: 's' }, whiteouts: ['gone'] });
    const mid = makeLayer(path.join(tmp.dir, 'mid'), { files: { top: 'mid', gone: 'back', m: 'm' } });
    for (const readonly of [false, true]) {
      const snap = await new OverlaySnapshotter({ stateDir }).prepare({ lowers: [same, mid, same, ...deep.slice(148)], key: 'twice', readonly });
      try {
        expect(fs.readFileSync(path.join(snap.rootfs, 'top'), 'utf8')).toBe('same');
        expect(fs.existsSync(path.join(snap.rootfs, 'gone'))).toBe(false);
        expect(fs.readdirSync(snap.rootfs).sort()).toEqual(['d', 'f0', 'f1', 'm', 's', 'top']);
      } finally {
        await snap.discard();
      }
    }
    const twice = await new OverlaySnapshotter({ stateDir }).prepare({ lowers: [same, same], key: 'only-twice', readonly: true });
    try {
      // Still a lower below it: a lone lower would show its whiteout as a device.
      expect(fs.readdirSync(twice.rootfs).sort()).toEqual(['s', 'top']);
    } finally {
      await twice.discard();
    }
    expect(mountsUnder(stateDir)).toEqual([]);
  });

  it('mounts a read-only view without an upper dir, over any number of lowers', async () => {
    const options = (target: string): string => fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === target) ?? '';
    for (const lowers of [[], [deep[149]!], deep.slice(140)]) {
      const view = await new OverlaySnapshotter({ stateDir }).prepare({ lowers, key: 'view', readonly: true });
      try {
        // The point of it: no upper, so unmounting it does not sync the filesystem.
        expect(options(view.rootfs)).toMatch(/lowerdir=/);
        expect(options(view.rootfs)).not.toMatch(/upperdir=/);
        // deep.slice(140) is layers 9..0: the top one's `top`, every layer's file.
        if (lowers.length === 0) expect(fs.readdirSync(view.rootfs)).toEqual([]);
        else expect(fs.readFileSync(path.join(view.rootfs, 'top'), 'utf8')).toBe(String(lowers.length - 1));
        for (let i = 0; i < lowers.length; i++) expect(fs.existsSync(path.join(view.rootfs, `f${i}`))).toBe(true);
        expect(() => fs.writeFileSync(path.join(view.rootfs, 'new'), 'x')).toThrow(/EROFS/);
      } finally {
        await view.discard();
      }
      expect(fs.existsSync(path.dirname(view.rootfs))).toBe(false);
    }
    expect(mountsUnder(stateDir)).toEqual([]);
  });

  it('cleanupStale unmounts and removes snapshots of dead processes only', async () => {
    const s = new OverlaySnapshotter({ stateDir });
    const dead = await s.prepare({ lowers: [deep[149]!], key: 'dead' });
    const live = await s.prepare({ lowers: [deep[149]!], key: 'live' });
    fs.writeFileSync(path.join(path.dirname(dead.rootfs), 'owner.json'), JSON.stringify({ pid: 2 ** 22 + 1, start: '1' }));
    const removed = await cleanupStaleSnapshots(stateDir);
    expect(removed).toEqual([path.dirname(dead.rootfs)]);
    expect(listMountPoints()).not.toContain(dead.rootfs);
    expect(fs.existsSync(path.dirname(dead.rootfs))).toBe(false);
    expect(listMountPoints()).toContain(live.rootfs);
    await live.discard();
  });

  it('a failed mount leaves no directory behind', async () => {
    // An overlay upper dir cannot live on overlayfs: put the state dir inside a merged mount.
    const outer = await new OverlaySnapshotter({ stateDir }).prepare({ lowers: [], key: 'outer' });
    try {
      const inner = path.join(outer.rootfs, 'state');
      await expect(new OverlaySnapshotter({ stateDir: inner }).prepare({ lowers: [deep[0]!], key: 'x' })).rejects.toMatchObject({
        code: 'TB_EXEC_MOUNT_FAILED',
      });
      expect(fs.readdirSync(path.join(inner, 'snapshots'))).toEqual([]);
    } finally {
      await outer.discard();
    }
  });
});
