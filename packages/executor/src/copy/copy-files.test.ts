import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { getAttributeSync, setAttributeSync } from '@napi-rs/xattr';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { tempDirMaker } from '../../../../test/support/root.ts';
import { hasCc, nativeSysHelper } from '../../test/native-sys.ts';
import type { CopySource } from './copy-files.ts';

// copyFiles writes regular files several at a time; these pin down that the result is still
// exactly what one-at-a-time copying in Docker's order gives, whether this process writes the
// small files or tbuild-sys does (helper-copy.ts).

const temp = tempDirMaker('tb-copy-');
const owner = { uid: process.getuid!(), gid: process.getgid!() };

function file(src: string, rel: string, content: string, destRel = rel, mode = 0o644): CopySource {
  const abs = path.join(src, rel);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  fs.writeFileSync(abs, content);
  fs.utimesSync(abs, 1_000_000, 1_000_000 + rel.length);
  return { absPath: abs, destRel, type: 'file', mode };
}

const modes = [
  { name: 'small files written here', native: false, skip: false },
  { name: 'small files written by tbuild-sys (needs a C compiler)', native: true, skip: !hasCc },
];

describe.each(modes)('copyFiles, $name', ({ native, skip }) => {
  // A module instance of its own for each, so that each has the process's helper it names.
  let copyFiles: typeof import('./copy-files.ts').copyFiles;
  let copier: typeof import('./helper-copy.ts').helperCopier;
  beforeAll(async () => {
    if (skip) return;
    vi.resetModules();
    const sys = await import('../snapshot/sys-helper.ts');
    if (native) {
      sys.useNativeSysHelper(nativeSysHelper());
      expect(await sys.startSysHelper()).toBe(true);
    }
    ({ copyFiles } = await import('./copy-files.ts'));
    ({ helperCopier: copier } = await import('./helper-copy.ts'));
  });
  afterAll(() => vi.resetModules());

  it.skipIf(skip)(native ? 'copies through tbuild-sys' : 'copies on this thread', () => {
    expect(copier(1, false) !== undefined).toBe(native);
  });

  it.skipIf(skip)('copies a tree far wider than its write concurrency with every content, mode and mtime intact', async () => {
    const src = temp();
    const root = temp();
    const files: CopySource[] = [];
    for (let d = 0; d < 5; d++) {
      files.push({ absPath: path.join(src, `d${d}`), destRel: `d${d}`, type: 'dir', mode: 0o750 });
      for (let f = 0; f < 60; f++) files.push(file(src, `d${d}/f${f}`, `file ${d}/${f}`, `d${d}/f${f}`, f % 2 ? 0o755 : 0o600));
    }
    const r = await copyFiles({ rootfs: root, dest: '/app/', files, destMustBeDir: true, ...owner });
    expect(r.files).toBe(305);
    for (let d = 0; d < 5; d++) {
      expect(fs.statSync(path.join(root, `app/d${d}`)).mode & 0o777).toBe(0o750);
      for (let f = 0; f < 60; f++) {
        const p = path.join(root, `app/d${d}/f${f}`);
        expect(fs.readFileSync(p, 'utf8')).toBe(`file ${d}/${f}`);
        expect(fs.statSync(p).mode & 0o777).toBe(f % 2 ? 0o755 : 0o600);
        expect(Math.floor(fs.statSync(p).mtimeMs / 1000)).toBe(1_000_000 + `d${d}/f${f}`.length);
      }
    }
  });

  it.skipIf(skip)('copies more files than it copies before it starts its worker threads: contents, owners, xattrs, nanosecond mtimes, last writer', async () => {
    const src = temp();
    const root = temp();
    const files: CopySource[] = [];
    for (let d = 0; d < 4; d++) {
      files.push({ absPath: path.join(src, `d${d}`), destRel: `d${d}`, type: 'dir', mode: 0o755 });
      for (let i = 0; i < 1100; i++) {
        const f = file(src, `d${d}/f${i}`, `${d}/${i}`.repeat(i % 300), `d${d}/f${i}`, 0o640);
        fs.utimesSync(f.absPath, 1_000_000, 1_000_000.000123456 + i);
        if (i % 7 === 0) setAttributeSync(f.absPath, 'user.tbuild.n', Buffer.from(String(i)));
        if (process.getuid!() === 0 && i % 5 === 0) fs.chownSync(f.absPath, 1000 + i, 2000 + d);
        files.push(f);
      }
    }
    // A second source for one path: the last one listed wins.
    files.push(file(src, 'late/f3', 'late', 'd0/f3'));
    expect(files.length).toBeGreaterThan(4096);
    const r = await copyFiles({ rootfs: root, dest: '/c/', files, destMustBeDir: true, keepSourceAttrs: true });
    expect(r.files).toBe(files.length);
    for (let d = 0; d < 4; d++) {
      for (let i = 0; i < 1100; i++) {
        const from = path.join(src, `d${d}/f${i}`);
        const to = path.join(root, `c/d${d}/f${i}`);
        if (d === 0 && i === 3) {
          expect(fs.readFileSync(to, 'utf8')).toBe('late');
          continue;
        }
        const [a, b] = [fs.statSync(from, { bigint: true }), fs.statSync(to, { bigint: true })];
        expect(fs.readFileSync(to, 'utf8')).toBe(`${d}/${i}`.repeat(i % 300));
        expect([b.mode & 0o7777n, b.uid, b.gid, b.mtimeNs]).toEqual([0o640n, a.uid, a.gid, a.mtimeNs]);
        if (i % 7 === 0) expect(Buffer.from(getAttributeSync(to, 'user.tbuild.n')!).toString()).toBe(String(i));
      }
    }
  });

  it.skipIf(skip)('lets the last of two sources for one path win, as a sequential copy would', async () => {
    const src = temp();
    const root = temp();
    const files: CopySource[] = [];
    for (let i = 0; i < 40; i++) files.push(file(src, `a/x${i}`, `a${i}`, `x${i}`));
    for (let i = 0; i < 40; i++) files.push(file(src, `b/x${i}`, `b${i}`, `x${i}`));
    await copyFiles({ rootfs: root, dest: '/out/', files, destMustBeDir: true, ...owner });
    for (let i = 0; i < 40; i++) expect(fs.readFileSync(path.join(root, `out/x${i}`), 'utf8')).toBe(`b${i}`);
  });

  it.skipIf(skip)('writes files below a copied symlink through it, confined to the rootfs', async () => {
    const src = temp();
    const root = temp();
    fs.mkdirSync(path.join(root, 'real'));
    const files: CopySource[] = [
      { absPath: path.join(src, 'link'), destRel: 'link', type: 'symlink', mode: 0o777, linkTarget: '/real' },
      ...Array.from({ length: 30 }, (_, i) => file(src, `s/f${i}`, `f${i}`, `link/f${i}`)),
    ];
    await copyFiles({ rootfs: root, dest: '/', files, destMustBeDir: true, ...owner });
    expect(fs.readlinkSync(path.join(root, 'link'))).toBe('/real');
    for (let i = 0; i < 30; i++) expect(fs.readFileSync(path.join(root, `real/f${i}`), 'utf8')).toBe(`f${i}`);
  });

  it.skipIf(skip)('follows a symlink copied into a directory it made, and makes nested new directories once', async () => {
    const src = temp();
    const root = temp();
    fs.mkdirSync(path.join(root, 'real'));
    const files: CopySource[] = [
      { absPath: path.join(src, 'pkg'), destRel: 'pkg', type: 'dir', mode: 0o755 },
      { absPath: path.join(src, 'pkg/link'), destRel: 'pkg/link', type: 'symlink', mode: 0o777, linkTarget: '/real' },
      file(src, 'x/f', 'through the link', 'pkg/link/sub/f'),
      ...Array.from({ length: 20 }, (_, i) => file(src, `deep/${i}`, `d${i}`, `pkg/a/b/c${i % 3}/f${i}`)),
    ];
    await copyFiles({ rootfs: root, dest: '/new/', files, destMustBeDir: true, ...owner });
    expect(fs.readFileSync(path.join(root, 'real/sub/f'), 'utf8')).toBe('through the link');
    for (let i = 0; i < 20; i++) expect(fs.readFileSync(path.join(root, `new/pkg/a/b/c${i % 3}/f${i}`), 'utf8')).toBe(`d${i}`);
    expect(fs.statSync(path.join(root, 'new/pkg/a')).mode & 0o7777).toBe(0o755);
  });

  it.skipIf(skip)('refuses a directory where it copied a file, with the usual message', async () => {
    const src = temp();
    const root = temp();
    const files = [file(src, 'a', 'file a', 'a'), file(src, 'b', 'below a', 'a/b')];
    await expect(copyFiles({ rootfs: root, dest: '/d/', files, destMustBeDir: true, ...owner })).rejects.toMatchObject({ code: 'TB_EXEC_NOT_A_DIRECTORY' });
  });

  it.skipIf(skip)('refuses a file where it made a directory, with the usual message', async () => {
    const src = temp();
    const root = temp();
    fs.mkdirSync(path.join(src, 'one/x'), { recursive: true });
    const files: CopySource[] = [
      { absPath: path.join(src, 'one/x'), destRel: 'x', type: 'dir', mode: 0o755 },
      file(src, 'two/x', 'a file named like the directory', 'x'),
    ];
    await expect(copyFiles({ rootfs: root, dest: '/d/', files, destMustBeDir: true, ...owner })).rejects.toMatchObject({ code: 'TB_EXEC_COPY_DEST' });
  });

  it.skipIf(skip)('reports a failed write and leaves nothing writing once it returns', async () => {
    const src = temp();
    const root = temp();
    const files = Array.from({ length: 50 }, (_, i) => file(src, `f${String(i).padStart(2, '0')}`, `f${i}`));
    fs.rmSync(files[30]!.absPath);
    await expect(copyFiles({ rootfs: root, dest: '/out/', files, destMustBeDir: true, ...owner })).rejects.toThrow(/ENOENT/);
    const after = fs.readdirSync(path.join(root, 'out')).length;
    await new Promise((r) => setTimeout(r, 50));
    expect(fs.readdirSync(path.join(root, 'out')).length).toBe(after);
  });

  it.skipIf(skip)('keeps xattrs and nanosecond mtimes with keepSourceAttrs (COPY --from), milliseconds without', async () => {
    const src = temp();
    const f = file(src, 'bin/tool', 'x');
    setAttributeSync(f.absPath, 'user.tbuild.test', Buffer.from('kept'));
    // A time a double cannot carry to the nanosecond: only utimensat sets it.
    execFileSync('touch', ['-m', '-d', '@1000000.123456789', f.absPath]);
    const mtimeNs = fs.statSync(f.absPath, { bigint: true }).mtimeNs;
    expect(mtimeNs).toBe(1_000_000_123_456_789n);
    const kept = temp();
    await copyFiles({ rootfs: kept, dest: '/t', files: [f], destMustBeDir: false, keepSourceAttrs: true, ...owner });
    expect(fs.statSync(path.join(kept, 't'), { bigint: true }).mtimeNs).toBe(mtimeNs);
    expect(getAttributeSync(path.join(kept, 't'), 'user.tbuild.test')?.toString()).toBe('kept');
    const plain = temp();
    await copyFiles({ rootfs: plain, dest: '/t', files: [f], destMustBeDir: false, ...owner });
    expect(fs.statSync(path.join(plain, 't'), { bigint: true }).mtimeNs).toBe(1_000_000_123_000_000n);
    expect(getAttributeSync(path.join(plain, 't'), 'user.tbuild.test')).toBeNull();
  });

  it.skipIf(skip)('keeps hard links among the files one source selected, small and large, as BuildKit does', async () => {
    const src = temp();
    const small = file(src, 'd/a', 'shared');
    fs.linkSync(small.absPath, path.join(src, 'd/b'));
    const big = file(src, 'd/big1', 'x'.repeat(200_000));
    fs.linkSync(big.absPath, path.join(src, 'd/big2'));
    const lone = file(src, 'd/c', 'shared');
    const sel = (rel: string, source: string): CopySource => ({ absPath: path.join(src, rel), destRel: rel.slice(2), type: 'file', mode: 0o644, source });
    const root = temp();
    await copyFiles({ rootfs: root, dest: '/o/', files: [sel('d/a', 'd'), sel('d/b', 'd'), sel('d/big1', 'd'), sel('d/big2', 'd'), { ...lone, destRel: 'c', source: 'd' }], destMustBeDir: true, ...owner });
    const ino = (rel: string): number => fs.statSync(path.join(root, 'o', rel)).ino;
    expect(ino('a')).toBe(ino('b'));
    expect(ino('big1')).toBe(ino('big2'));
    expect(fs.statSync(path.join(root, 'o/a')).nlink).toBe(2);
    expect(fs.statSync(path.join(root, 'o/c')).nlink).toBe(1);
    expect(fs.readFileSync(path.join(root, 'o/b'), 'utf8')).toBe('shared');
    // Named as two sources (`COPY d/a d/b /p/`), they are two copies.
    const apart = temp();
    await copyFiles({ rootfs: apart, dest: '/p/', files: [sel('d/a', 'd/a'), sel('d/b', 'd/b')], destMustBeDir: true, ...owner });
    expect(fs.statSync(path.join(apart, 'p/a')).nlink).toBe(1);
    expect(fs.statSync(path.join(apart, 'p/b')).nlink).toBe(1);
  });

  it.skipIf(skip)('writes a single file through a symlink at the destination, confined to the rootfs', async () => {
    const src = temp();
    const root = temp();
    const outside = temp();
    fs.mkdirSync(path.join(root, 'etc'));
    fs.writeFileSync(path.join(root, 'etc/target'), 'old');
    fs.symlinkSync('/etc/target', path.join(root, 'etc/abs'));
    fs.symlinkSync(path.relative(path.join(root, 'etc'), path.join(outside, 'escaped')), path.join(root, 'etc/esc'));
    fs.symlinkSync('/nowhere/../made', path.join(root, 'dangling'));
    const f = file(src, 'f', 'new');
    for (const dest of ['/etc/abs', '/etc/esc', '/dangling']) await copyFiles({ rootfs: root, dest, files: [f], destMustBeDir: false, ...owner });
    expect(fs.readFileSync(path.join(root, 'etc/target'), 'utf8')).toBe('new');
    expect(fs.readlinkSync(path.join(root, 'etc/abs'))).toBe('/etc/target');
    expect(fs.readFileSync(path.join(root, 'made'), 'utf8')).toBe('new');
    // `..` stops at the rootfs's root: what escapes the host path lands inside the rootfs.
    expect(fs.readdirSync(outside)).toEqual([]);
    expect(fs.readFileSync(path.join(root, path.basename(outside), 'escaped'), 'utf8')).toBe('new');
  });

  it.skipIf(skip)("never moves a copy into the next second, which a layer's tar header would show", async () => {
    const src = temp();
    const files: CopySource[] = [{ absPath: path.join(src, 'd'), destRel: 'd', type: 'dir', mode: 0o755 }];
    files.push(file(src, 'd/small', 'x'));
    files.push({ ...file(src, 'd/large', 'y'.repeat(200_000)), destRel: 'd/large' });
    // Just before a second: rounded to the millisecond (as Node's Stats.mtime is) or read as a
    // double of milliseconds (999,999,900 ns is one), each is the next second.
    for (const [rel, stamp] of [['d/small', '@1000000.999600000'], ['d/large', '@1000001.999999900'], ['d', '@1000002.999999950']] as const) {
      execFileSync('touch', ['-m', '-d', stamp, path.join(src, rel)]);
    }
    for (const keepSourceAttrs of [false, true]) {
      const root = temp();
      await copyFiles({ rootfs: root, dest: '/c', files, destMustBeDir: false, keepSourceAttrs, ...owner });
      for (const [rel, second] of [['c/d/small', 1_000_000n], ['c/d/large', 1_000_001n], ['c/d', 1_000_002n]] as const) {
        expect(fs.statSync(path.join(root, rel), { bigint: true }).mtimeNs / 1_000_000_000n, `${rel}, keepSourceAttrs ${keepSourceAttrs}`).toBe(second);
      }
    }
  });

  it.skipIf(skip)('gives copied directories the mode and times of their sources, after their entries are written', async () => {
    const src = temp();
    const root = temp();
    const files: CopySource[] = [{ absPath: src, destRel: '', type: 'dir', mode: 0o755 }];
    files.push({ absPath: path.join(src, 'sub'), destRel: 'sub', type: 'dir', mode: 0o700 });
    files.push(file(src, 'sub/f', 'x'));
    fs.utimesSync(path.join(src, 'sub'), 2_000_000, 2_000_000);
    fs.utimesSync(src, 3_000_000, 3_000_000);
    await copyFiles({ rootfs: root, dest: '/d', files, destMustBeDir: false, sourceIsDir: true, ...owner });
    expect(fs.statSync(path.join(root, 'd/sub')).mtimeMs).toBe(2_000_000_000);
    expect(fs.statSync(path.join(root, 'd/sub')).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(root, 'd')).mtimeMs).toBe(3_000_000_000);
  });
});
