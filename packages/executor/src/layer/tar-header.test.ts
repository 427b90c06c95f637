import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { readTar } from './read-tar.test-support.ts';
import { encodeHeader, END_OF_ARCHIVE, paddingFor, type TarEntry } from './tar-header.ts';

function archive(entries: { entry: TarEntry; data?: string }[]): Buffer {
  const parts: Buffer[] = [];
  for (const { entry, data } of entries) {
    parts.push(encodeHeader(entry));
    if (data !== undefined) parts.push(Buffer.from(data), paddingFor(Buffer.byteLength(data)));
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

const base = { mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 1700000000 } as const;

describe('encodeHeader', () => {
  it('writes plain ustar for short ASCII names, with numeric ids only', async () => {
    const buf = archive([
      { entry: { ...base, path: 'etc', type: 'dir', mode: 0o755 } },
      { entry: { ...base, path: 'etc/motd', type: 'file', size: 5, mode: 0o4755, uid: 1000, gid: 1000 }, data: 'hello' },
      { entry: { ...base, path: 'etc/link', type: 'symlink', linkname: '../motd' } },
      { entry: { ...base, path: 'etc/hard', type: 'hardlink', linkname: 'etc/motd' } },
      { entry: { ...base, path: 'dev/null', type: 'char', devmajor: 1, devminor: 3 } },
    ]);
    expect(buf.length).toBe(512 * 6 + 1024); // 5 headers + 1 data block, no PAX headers
    expect(buf.subarray(265, 265 + 64).every((b) => b === 0)).toBe(true); // empty uname/gname
    const read = await readTar(buf);
    expect(read.map((e) => [e.name, e.type, e.mode.toString(8), e.uid, e.linkname ?? '', e.data])).toEqual([
      ['etc/', 'directory', '755', 0, '', ''],
      ['etc/motd', 'file', '4755', 1000, '', 'hello'],
      ['etc/link', 'symlink', '644', 0, '../motd', ''],
      ['etc/hard', 'link', '644', 0, 'etc/motd', ''],
      ['dev/null', 'character-device', '644', 0, '', ''],
    ]);
    expect(read[1]!.mtime).toBe(1700000000);
  });

  it('uses one PAX header for long or non-ASCII paths, long link targets and large ids', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(150)}`;
    const buf = archive([
      { entry: { ...base, path: long, type: 'file', uid: 5_000_000, gid: 3_000_000, size: 1 }, data: 'x' },
      { entry: { ...base, path: 'café/ß', type: 'symlink', linkname: `/${'t'.repeat(200)}` } },
      { entry: { ...base, path: `${'p'.repeat(90)}/${'q'.repeat(90)}`, type: 'file' } },
    ]);
    const read = await readTar(buf);
    expect(read.map((e) => e.name)).toEqual([long, 'café/ß', `${'p'.repeat(90)}/${'q'.repeat(90)}`]);
    // tar-stream does not apply PAX ids; GNU tar, an independent reader, does.
    expect(read[0]!.pax).toMatchObject({ uid: '5000000', gid: '3000000' });
    const listing = execFileSync('tar', ['-tv', '--numeric-owner', '-f', '-'], { input: buf }).toString();
    expect(listing.split('\n')[0]).toMatch(/^-rw-r--r-- 5000000\/3000000 /);
    expect(read[1]!.linkname).toBe(`/${'t'.repeat(200)}`);
    expect(read[2]!.pax).toBeUndefined(); // fits ustar's prefix/name split
  });

  it('stores binary xattr values byte for byte as SCHILY.xattr records', () => {
    const cap = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0xff, 0xfe, 0x80, 0x00]);
    const buf = encodeHeader({ ...base, path: 'bin/ping', type: 'file', xattrs: new Map([['security.capability', cap]]) });
    expect(buf[156]).toBe('x'.charCodeAt(0));
    const paxSize = parseInt(buf.subarray(124, 135).toString('ascii'), 8);
    const record = buf.subarray(512, 512 + paxSize);
    const key = Buffer.from(' SCHILY.xattr.security.capability=');
    const at = record.indexOf(key);
    expect(at).toBeGreaterThan(0);
    expect(Number(record.subarray(0, at).toString())).toBe(record.length); // the length counts itself
    expect(record.subarray(at + key.length, at + key.length + cap.length).equals(cap)).toBe(true);
    expect(record[record.length - 1]).toBe(0x0a);
  });
});
