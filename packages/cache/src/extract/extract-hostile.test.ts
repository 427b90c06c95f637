// security.md §5.A: every hostile layer input, applied with the safe extractor. Each test keeps
// a host canary outside the root and asserts it is untouched, and that refusals are BuildErrors.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildTar } from '../testing/tar-builder.ts';
import { HostileFixture } from './hostile-fixture.ts';

let fx: HostileFixture;
beforeEach(() => {
  fx = new HostileFixture();
});
afterEach(() => fx.cleanup());

describe('A1-A2 traversal and absolute names', () => {
  it.each(['../../../../canary', './../x', 'a/../../x', 'a/b/../../../canary'])('refuses %s', async (name) => {
    await fx.expectRejected(buildTar([{ name, data: 'pwned' }]), 'TB_CACHE_LAYER_INVALID');
  });

  it('resolves a ".." that stays inside lexically, as docker does (a/../b is b, even where a is a symlink)', async () => {
    await fx.extract(buildTar([{ name: 'a', type: 'symlink', linkname: '/' }, { name: 'a/../b', data: 'b' }, { name: 'c/../d', type: 'link', linkname: 'x/../b' }]));
    expect(fs.readFileSync(fx.inDest('b'), 'utf8')).toBe('b');
    expect(fs.statSync(fx.inDest('d')).ino).toBe(fs.statSync(fx.inDest('b')).ino);
    fx.expectHostUntouched();
  });

  it.each(['../../../../canary', 'a/../../canary'])('stops %s at the root with aboveRoot: clamp (ADD archives)', async (name) => {
    await fx.extract(buildTar([{ name, data: 'pwned' }]), { aboveRoot: 'clamp' });
    expect(fs.readFileSync(fx.inDest('canary'), 'utf8')).toBe('pwned');
    fx.expectHostUntouched();
  });

  it('writes absolute names below the root', async () => {
    await fx.extract(buildTar([{ name: '/etc/cron.d/pwn', data: 'x' }, { name: fx.canary, data: 'pwned' }]));
    expect(fs.readFileSync(fx.inDest('etc/cron.d/pwn'), 'utf8')).toBe('x');
    expect(fs.readFileSync(fx.inDest(fx.canary), 'utf8')).toBe('pwned');
    fx.expectHostUntouched();
  });
});

describe('A3-A5 symlink write-through', () => {
  it.each([
    ['absolute', () => fx.work, () => fx.inDest(fx.work, 'canary')],
    ['to /', () => '/', () => fx.inDest('canary')],
    ['relative ../../../..', () => '../../../..', () => fx.inDest('canary')],
  ])('confines a write through a symlink %s in the same layer', async (_, target, where) => {
    await fx.extract(buildTar([{ name: 'evil', type: 'symlink', linkname: target() }, { name: 'evil/canary', data: 'pwned' }]));
    expect(fs.readFileSync(where(), 'utf8')).toBe('pwned');
    fx.expectHostUntouched();
  });

  it('confines a write through a symlink from an earlier layer (applied to the same tree)', async () => {
    await fx.extract(buildTar([{ name: 'evil', type: 'symlink', linkname: fx.work }]));
    await fx.extract(buildTar([{ name: 'evil/canary', data: 'pwned' }]));
    expect(fs.readFileSync(fx.inDest(fx.work, 'canary'), 'utf8')).toBe('pwned');
    fx.expectHostUntouched();
  });

  it('keeps a per-layer snapshot dir independent of a lower layer symlink', async () => {
    const lower = path.join(fx.dest, 'l1');
    const upper = path.join(fx.dest, 'l2');
    fs.mkdirSync(lower);
    fs.mkdirSync(upper);
    await fx.extract(buildTar([{ name: 'evil', type: 'symlink', linkname: '/' }]), {}, lower);
    await fx.extract(buildTar([{ name: 'evil/x', data: 'y' }]), {}, upper);
    expect(fs.lstatSync(path.join(upper, 'evil')).isDirectory()).toBe(true);
    fx.expectHostUntouched();
  });

  it('refuses symlink loops and chains beyond 40 hops, without hanging', async () => {
    await fx.expectRejected(buildTar([{ name: 'c', type: 'symlink', linkname: 'c' }, { name: 'c/x', data: 'x' }]), 'TB_CACHE_LAYER_INVALID');
    const chain = Array.from({ length: 50 }, (_, i) => ({ name: `l${i}`, type: 'symlink', linkname: i === 49 ? '/' : `l${i + 1}` }));
    await fx.expectRejected(buildTar([...chain, { name: 'l0/x', data: 'x' }]), 'TB_CACHE_LAYER_INVALID');
  });

  it('clamps a chain ending in ../.. at the root', async () => {
    await fx.extract(buildTar([{ name: 'a', type: 'symlink', linkname: 'b' }, { name: 'b', type: 'symlink', linkname: '../..' }, { name: 'a/x', data: 'x' }]));
    expect(fs.readFileSync(fx.inDest('x'), 'utf8')).toBe('x');
    fx.expectHostUntouched();
  });
});

describe('A6-A7 hard links', () => {
  it.each([
    () => '../../../../canary',
    () => fx.canary,
  ])('refuses a hard link out of the root (%#)', async (target) => {
    await fx.expectRejected(buildTar([{ name: 'x', type: 'link', linkname: target() }]), 'TB_CACHE_LAYER_INVALID');
    expect(fs.statSync(fx.canary).nlink).toBe(1);
  });

  it('refuses a hard link through a symlinked directory', async () => {
    await fx.expectRejected(
      buildTar([{ name: 'd', type: 'symlink', linkname: fx.work }, { name: 'x', type: 'link', linkname: 'd/canary' }]),
      'TB_CACHE_LAYER_INVALID',
    );
  });

  it('refuses links to paths not yet written and to directories', async () => {
    await fx.expectRejected(buildTar([{ name: 'x', type: 'link', linkname: 'later' }, { name: 'later', data: 'x' }]), 'TB_CACHE_LAYER_INVALID');
    await fx.expectRejected(buildTar([{ name: 'd/', type: 'dir' }, { name: 'x', type: 'link', linkname: 'd' }]), 'TB_CACHE_LAYER_INVALID');
  });

  it('links a symlink itself, never its target', async () => {
    await fx.extract(buildTar([{ name: 's', type: 'symlink', linkname: fx.canary }, { name: 'x', type: 'link', linkname: 's' }]));
    expect(fs.lstatSync(fx.inDest('x')).isSymbolicLink()).toBe(true);
    expect(fs.statSync(fx.canary).nlink).toBe(1);
    fx.expectHostUntouched();
  });

  it('refuses a link whose target directory was swapped for a symlink after the target was written', async () => {
    const tar = buildTar([
      { name: 'd/f', data: 'x' },
      { name: 'e', type: 'symlink', linkname: fx.work },
      { name: 'x', type: 'link', linkname: 'e/canary' },
    ]);
    await fx.expectRejected(tar, 'TB_CACHE_LAYER_INVALID');
  });
});

describe('A8-A9 replacing symlinks and directories', () => {
  it('replaces a final-component symlink instead of writing through it', async () => {
    await fx.extract(buildTar([{ name: 'etc/motd', type: 'symlink', linkname: fx.canary }]));
    await fx.extract(buildTar([{ name: 'etc/motd', data: 'motd' }]));
    expect(fs.lstatSync(fx.inDest('etc/motd')).isFile()).toBe(true);
    expect(fs.readFileSync(fx.inDest('etc/motd'), 'utf8')).toBe('motd');
    fx.expectHostUntouched();
  });

  it('confines writes under a directory that a later layer turned into a symlink', async () => {
    await fx.extract(buildTar([{ name: 'a/', type: 'dir' }]));
    await fx.extract(buildTar([{ name: 'a', type: 'symlink', linkname: fx.hostDir }]));
    await fx.extract(buildTar([{ name: 'a/b', data: 'b' }]));
    expect(fs.readdirSync(fx.hostDir)).toEqual([]);
    expect(fs.readFileSync(fx.inDest(fx.hostDir, 'b'), 'utf8')).toBe('b');
    fx.expectHostUntouched();
  });
});

describe('A10-A12 whiteouts and duplicates', () => {
  it.each(['.wh.', 'dir/.wh..', '.wh...', '.wh.../x', 'd/.wh..wh.plnk'])('refuses the malformed whiteout %s', async (name) => {
    await fx.expectRejected(buildTar([{ name, data: '' }]), 'TB_CACHE_LAYER_INVALID');
  });

  it('applies an opaque marker the same way before or after its siblings (plain format)', async () => {
    const results: string[][] = [];
    for (const markerFirst of [true, false]) {
      fs.rmSync(fx.inDest('a'), { recursive: true, force: true });
      fs.mkdirSync(path.join(fx.dest, 'a/b'), { recursive: true });
      fs.writeFileSync(path.join(fx.dest, 'a/lower'), 'from a lower layer');
      const marker = { name: 'a/.wh..wh..opq', data: '' };
      const sib = { name: 'a/b/c/foo', data: 'foo' };
      await fx.extract(buildTar(markerFirst ? [marker, sib] : [sib, marker]));
      results.push(fs.readdirSync(fx.dest, { recursive: true }).map(String).sort());
    }
    expect(results[0]).toEqual(['a', 'a/b', 'a/b/c', 'a/b/c/foo']);
    expect(results[1]).toEqual(results[0]);
    fx.expectHostUntouched();
  });

  it('deletes what a whiteout names in plain format, without following symlinks', async () => {
    fs.symlinkSync(fx.hostDir, fx.inDest('link'));
    fs.writeFileSync(fx.inDest('gone'), 'x');
    await fx.extract(buildTar([{ name: '.wh.gone', data: '' }, { name: '.wh.link', data: '' }, { name: 'link/.wh.canary', data: '' }]));
    expect(fs.readdirSync(fx.dest)).toEqual([]);
    fx.expectHostUntouched();
  });

  it('refuses duplicate paths, also through a symlink alias', async () => {
    await fx.expectRejected(buildTar([{ name: 'f', data: '1' }, { name: 'f', data: '2' }]), 'TB_CACHE_LAYER_INVALID');
    await fx.expectRejected(buildTar([{ name: 'etc/f', data: '1' }, { name: 'l', type: 'symlink', linkname: '/etc' }, { name: 'l/f', data: '2' }]), 'TB_CACHE_LAYER_INVALID');
  });
});

describe('A13 overlay xattrs in the archive', () => {
  it.each(['trusted.overlay.opaque', 'trusted.overlay.redirect', 'trusted.overlay.origin', 'user.overlay.opaque'])('refuses %s', async (x) => {
    await fx.expectRejected(buildTar([{ name: 'd/', type: 'dir', pax: { [`SCHILY.xattr.${x}`]: 'y' } }]), 'TB_CACHE_LAYER_INVALID');
  });
});

describe('A14-A15 name encoding', () => {
  it('keeps ß and ss (and NFC/NFD) apart, with no directory shortcut', async () => {
    await fx.extract(
      buildTar([
        { name: 'ß/', type: 'dir' },
        { name: 'ss', type: 'symlink', linkname: fx.hostDir },
        { name: 'ß/x', data: 'x' },
        { name: '\u00e9', data: 'nfc' },
        { name: 'e\u0301', data: 'nfd' },
      ]),
    );
    expect(fs.readFileSync(fx.inDest('ß/x'), 'utf8')).toBe('x');
    expect(fs.readFileSync(fx.inDest('\u00e9'), 'utf8')).toBe('nfc');
    expect(fs.readFileSync(fx.inDest('e\u0301'), 'utf8')).toBe('nfd');
    fx.expectHostUntouched();
  });

  it('refuses NUL bytes, invalid UTF-8 and over-long names', async () => {
    await fx.expectRejected(buildTar([{ name: 'a', pax: { path: 'a\0b' }, data: 'x' }]), 'TB_CACHE_LAYER_INVALID');
    await fx.expectRejected(buildTar([{ name: 'x', ustarName: Buffer.from([0x61, 0xff, 0x62]), data: 'x' }]), 'TB_CACHE_LAYER_INVALID');
    await fx.expectRejected(buildTar([{ name: 'a/'.repeat(2100) + 'f', data: 'x' }]), 'TB_CACHE_BUDGET_EXCEEDED');
    await fx.expectRejected(buildTar([{ name: 'l', type: 'symlink', linkname: 'x', pax: { linkpath: 'x\0y' } }]), 'TB_CACHE_LAYER_INVALID');
  });

  it('uses the PAX path when it differs from the ustar name', async () => {
    await fx.extract(buildTar([{ name: 'pax-name', ustarName: 'ustar-name', data: 'x' }]));
    expect(fs.readdirSync(fx.dest)).toEqual(['pax-name']);
  });

  it('refuses a malformed PAX record', async () => {
    await fx.expectRejected(buildTar([{ name: 'a', pax: { '': 'x' }, data: 'x' }]), 'TB_CACHE_LAYER_INVALID');
  });
});

describe('A16-A17 bombs, sparse files and stream tricks', () => {
  it('stops a gzip bomb at the byte budget', async () => {
    const bomb = zlib.gzipSync(buildTar([{ name: 'zeros', data: Buffer.alloc(20 * 1024 * 1024) }]));
    expect(bomb.length).toBeLessThan(100 * 1024);
    await fx.expectRejected(bomb, 'TB_CACHE_BUDGET_EXCEEDED', { limits: { maxBytes: 1024 * 1024 } });
  });

  it('stops a tar padding bomb and an entry-count bomb', async () => {
    await fx.expectRejected(zlib.gzipSync(buildTar([], { trailingZeros: 8192 })), 'TB_CACHE_BUDGET_EXCEEDED', { limits: { maxBytes: 1024 * 1024 } });
    const many = Array.from({ length: 200 }, (_, i) => ({ name: `f${i}`, data: '' }));
    await fx.expectRejected(buildTar(many), 'TB_CACHE_BUDGET_EXCEEDED', { limits: { maxEntries: 100 } });
  });

  it('refuses GNU sparse entries (typeflag S and PAX GNU.sparse)', async () => {
    await fx.expectRejected(buildTar([{ name: 's', type: 'S', data: 'x' }]), 'TB_CACHE_LAYER_INVALID');
    await fx.expectRejected(buildTar([{ name: 's', pax: { 'GNU.sparse.major': '1', 'GNU.sparse.minor': '0' }, data: 'x' }]), 'TB_CACHE_LAYER_INVALID');
  });

  it('refuses trailing data after the gzip stream and corrupt gzip', async () => {
    const gz = zlib.gzipSync(buildTar([{ name: 'f', data: 'x' }]));
    await fx.expectRejected(Buffer.concat([gz, Buffer.from('hidden tail')]), 'TB_CACHE_LAYER_INVALID');
    const bad = Buffer.from(gz);
    bad[20] = bad[20]! ^ 0xff;
    await fx.expectRejected(bad, 'TB_CACHE_LAYER_INVALID');
  });
});

describe('A19-A21 special files and trojans', () => {
  it('reports device nodes as skipped when asked not to create them', async () => {
    const stats = await fx.extract(buildTar([{ name: 'dev/mem', type: 'char', devmajor: 1, devminor: 1 }]), { devices: 'skip' });
    expect(stats.skipped).toEqual([{ path: 'dev/mem', reason: 'device nodes need root' }]);
    expect(fs.existsSync(fx.inDest('dev/mem'))).toBe(false);
  });

  it.skipIf(process.getuid?.() !== 0)('creates device nodes only inside the root when privileged', async () => {
    const stats = await fx.extract(
      buildTar([
        { name: 'dev/sda', type: 'block', devmajor: 8, devminor: 0, mode: 0o660 },
        { name: 'dev/mem', type: 'char', devmajor: 1, devminor: 1, mode: 0o640 },
        { name: 'evil', type: 'symlink', linkname: fx.hostDir },
        { name: 'evil/mem', type: 'char', devmajor: 1, devminor: 1 },
      ]),
    );
    expect(stats.devices).toBe(3);
    expect(fs.lstatSync(fx.inDest('dev/sda')).isBlockDevice()).toBe(true);
    expect(fs.lstatSync(fx.inDest('dev/mem')).rdev).toBe((1 << 8) | 1);
    expect(fs.lstatSync(fx.inDest(fx.hostDir, 'mem')).isCharacterDevice()).toBe(true);
    fx.expectHostUntouched();
  });

  it('never runs binaries the layer ships, even when it needs its special-file helper', async () => {
    const trojan = `#!/bin/sh\necho pwned > ${fx.canary}\n`;
    await fx.extract(
      buildTar([
        { name: 'usr/bin/python3', data: trojan, mode: 0o755 },
        { name: 'bin/sh', data: trojan, mode: 0o755 },
        { name: 'usr/bin/unpigz', data: trojan, mode: 0o755 },
        { name: 'run/fifo', type: 'fifo' },
      ]),
    );
    expect(fs.lstatSync(fx.inDest('run/fifo')).isFIFO()).toBe(true);
    fx.expectHostUntouched();
  });
});
