import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { hasCommand, isRoot, tempDirMaker } from '../../../../test/support/root.ts';
import { extractTar } from '../index.ts';
import { buildTar, zstdStored } from '../testing/tar-builder.ts';

const scratch = tempDirMaker('tbuild-extract-');

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

const sample = buildTar([
  { name: 'etc/', type: 'dir', mode: 0o755, mtime: 1_600_000_000 },
  { name: 'etc/hello', data: 'hello\n', mode: 0o640, uid: 1000, gid: 1001, mtime: 1_600_000_001 },
  { name: 'etc/link', type: 'symlink', linkname: '/etc/hello' },
  { name: 'etc/hard', type: 'link', linkname: '/etc/hello' },
  { name: 'bin/su', data: 'x', mode: 0o4755 },
  { name: 'ro/', type: 'dir', mode: 0o555 },
  { name: 'ro/f', data: 'in a read-only dir' },
]);

describe('extractTar', () => {
  it.each([
    ['plain tar', sample],
    ['gzip', zlib.gzipSync(sample)],
    ['zstd', zstdStored(sample)],
  ])('writes files, links and modes from %s and reports the diffID', async (_, blob) => {
    const dest = scratch();
    const stats = await extractTar(Readable.from([blob]), dest, { format: 'plain' });
    expect(stats.diffId).toBe(sha(sample));
    expect(stats.bytes).toBe(sample.length);
    expect(fs.readFileSync(path.join(dest, 'etc/hello'), 'utf8')).toBe('hello\n');
    const st = fs.statSync(path.join(dest, 'etc/hello'));
    expect(st.mode & 0o7777).toBe(0o640);
    expect(st.mtimeMs).toBe(1_600_000_001_000);
    expect(st.nlink).toBe(2);
    expect(fs.readlinkSync(path.join(dest, 'etc/link'))).toBe('/etc/hello');
    expect(fs.statSync(path.join(dest, 'bin/su')).mode & 0o7777).toBe(0o4755);
    expect(fs.statSync(path.join(dest, 'ro')).mode & 0o7777).toBe(0o555);
    expect(fs.statSync(path.join(dest, 'etc')).mtimeMs).toBe(1_600_000_000_000);
    if (isRoot) expect([st.uid, st.gid]).toEqual([1000, 1001]);
    expect(stats).toMatchObject({ files: 3, dirs: 2, symlinks: 1, hardlinks: 1 });
  });

  it('keeps a PAX mtime in its second, to the microsecond', async () => {
    const dest = scratch();
    const tar = buildTar([
      { name: 'late', data: 'x', pax: { mtime: '1600000007.9999999' } },
      { name: 'exact', data: 'x', pax: { mtime: '1600000007.123456789' } },
    ]);
    await extractTar(Readable.from([tar]), dest, { format: 'plain' });
    expect(fs.statSync(path.join(dest, 'late'), { bigint: true }).mtimeNs / 1_000_000_000n).toBe(1_600_000_007n);
    expect(fs.statSync(path.join(dest, 'exact'), { bigint: true }).mtimeNs / 1000n).toBe(1_600_000_007_123_456n);
  });

  it('rejects a diffID mismatch', async () => {
    await expect(extractTar(Readable.from([sample]), scratch(), { expectedDiffId: sha(Buffer.from('other')) })).rejects.toMatchObject({
      code: 'TB_CACHE_DIFFID_MISMATCH',
    });
  });

  it('rejects a truncated archive and garbage as BuildErrors', async () => {
    await expect(extractTar(Readable.from([sample.subarray(0, 700)]), scratch())).rejects.toMatchObject({ name: 'BuildError' });
    await expect(extractTar(Readable.from([Buffer.alloc(2048, 7)]), scratch())).rejects.toMatchObject({ code: 'TB_CACHE_LAYER_INVALID' });
  });

  it('accepts concatenated gzip members as one stream', async () => {
    const gz = Buffer.concat([zlib.gzipSync(sample.subarray(0, 1000)), zlib.gzipSync(sample.subarray(1000))]);
    const stats = await extractTar(Readable.from([gz]), scratch(), { format: 'plain' });
    expect(stats.diffId).toBe(sha(sample));
  });

  it.skipIf(!hasCommand('zstd'))('decodes real zstd-compressed layers and stops a zstd bomb at the budget', async () => {
    const zst = execFileSync('zstd', ['-q', '-c', '-19'], { input: sample });
    expect((await extractTar(Readable.from([zst]), scratch(), { format: 'plain' })).diffId).toBe(sha(sample));
    const bomb = execFileSync('zstd', ['-q', '-c', '-19'], { input: buildTar([{ name: 'z', data: Buffer.alloc(64 * 1024 * 1024) }]) });
    expect(bomb.length).toBeLessThan(64 * 1024);
    await expect(extractTar(Readable.from([bomb]), scratch(), { limits: { maxBytes: 1024 * 1024 } })).rejects.toMatchObject({
      code: 'TB_CACHE_BUDGET_EXCEEDED',
    });
  });
});
