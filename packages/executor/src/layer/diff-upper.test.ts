import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import zlib from 'node:zlib';
import { setAttributeSync } from '@napi-rs/xattr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBusyboxRootfs } from '../../../../test/support/busybox.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../../../../test/support/root.ts';
import { OverlaySnapshotter } from '../snapshot/overlay-snapshotter.ts';
import type { ActiveSnapshot } from '../snapshot/snapshotter.ts';
import { diffUpperToLayer, fileChunks } from './diff-upper.ts';
import { memorySink, readTar } from './read-tar.test-support.ts';

// vfs_cap_data revision 2 granting cap_net_raw (bit 13), effective: what `setcap cap_net_raw+ep` writes.
const CAP_NET_RAW = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
const EPOCH = 1_600_000_000;

describe.skipIf(!isRoot)(`diffUpperToLayer over a real overlay upper dir (${NEEDS_ROOT})`, () => {
  let tmp: { dir: string; cleanup: () => void };
  let snapshotter: OverlaySnapshotter;
  let base: string;

  beforeAll(() => {
    tmp = tempDir('tbuild-diff-');
    base = makeBusyboxRootfs(path.join(tmp.dir, 'base'));
    fs.mkdirSync(path.join(base, 'usr/share/doc/pkg'), { recursive: true });
    fs.writeFileSync(path.join(base, 'usr/share/doc/pkg/README'), 'docs');
    fs.mkdirSync(path.join(base, 'opt/app'), { recursive: true });
    fs.writeFileSync(path.join(base, 'opt/app/old.js'), 'old');
    fs.writeFileSync(path.join(base, 'opt/app/keep.js'), 'keep');
    fs.writeFileSync(path.join(base, 'replaced'), 'file');
    snapshotter = new OverlaySnapshotter({ stateDir: path.join(tmp.dir, 'state') });
  });
  afterAll(() => tmp?.cleanup());

  /** Applies `change` to a fresh view over the base image and diffs the result. */
  async function diffOf(change: (rootfs: string) => void, epoch: number | undefined = EPOCH, trusted?: () => Map<string, fs.BigIntStats>) {
    const snap: ActiveSnapshot = await snapshotter.prepare({ lowers: [base], key: 'test' });
    try {
      change(snap.rootfs);
      await snap.release();
      const sink = memorySink();
      const diff = await diffUpperToLayer(snap.upper, sink, { compression: 'gzip', sourceDateEpoch: epoch, trusted: trusted?.() });
      return { diff, blob: sink.bytes(), entries: await readTar(sink.bytes()) };
    } finally {
      await snap.discard();
    }
  }

  it('maps creates, modifies, deletes and directory replacement to entries, whiteouts and opaque markers', async () => {
    const { diff, blob, entries } = await diffOf((r) => {
      fs.writeFileSync(path.join(r, 'new.txt'), 'new');
      fs.appendFileSync(path.join(r, 'etc/passwd'), 'extra:x:2000:2000::/:/bin/sh\n');
      fs.rmSync(path.join(r, 'usr/share/doc'), { recursive: true });
      fs.rmSync(path.join(r, 'opt/app'), { recursive: true });
      fs.mkdirSync(path.join(r, 'opt/app'));
      fs.writeFileSync(path.join(r, 'opt/app/new.js'), 'new');
      fs.rmSync(path.join(r, 'replaced'));
      fs.mkdirSync(path.join(r, 'replaced'));
      fs.symlinkSync('/etc/passwd', path.join(r, 'pw'));
    });
    expect(diff.empty).toBe(false);
    expect(entries.map((e) => `${e.type} ${e.name}`)).toEqual([
      'directory etc/',
      'file etc/passwd',
      'file new.txt',
      'directory opt/',
      'directory opt/app/',
      'file opt/app/.wh..wh..opq',
      'file opt/app/new.js',
      'symlink pw',
      'directory replaced/',
      // overlay marks every dir made over a whiteout opaque; harmless where the lower had a file
      'file replaced/.wh..wh..opq',
      'directory usr/',
      'directory usr/share/',
      'file usr/share/.wh.doc',
    ]);
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect(byName.get('etc/passwd')!.data).toContain('extra:x:2000');
    expect(byName.get('usr/share/.wh.doc')).toMatchObject({ size: 0, mode: 0, mtime: 0 });
    expect(byName.get('pw')!.linkname).toBe('/etc/passwd');
    // mtimes of new content are clamped to SOURCE_DATE_EPOCH.
    expect(byName.get('new.txt')!.mtime).toBe(EPOCH);
    // Digests: diffId over the tar, digest over the gzip bytes.
    expect(diff.digest).toBe(`sha256:${crypto.createHash('sha256').update(blob).digest('hex')}`);
    expect(diff.diffId).toBe(`sha256:${crypto.createHash('sha256').update(zlib.gunzipSync(blob)).digest('hex')}`);
    expect(diff.size).toBe(blob.length);
    // Overlay's own xattrs never reach the layer.
    expect(zlib.gunzipSync(blob).includes('overlay')).toBe(false);
  });

  it('given the lowers, leaves out directories overlay only copied up, but keeps changed ones', async () => {
    const snap = await snapshotter.prepare({ lowers: [base], key: 'lowers' });
    try {
      const etc = path.join(snap.rootfs, 'etc');
      const before = fs.statSync(etc, { bigint: true }).mtimeNs;
      fs.writeFileSync(path.join(etc, 'tmp'), 'x');
      fs.rmSync(path.join(etc, 'tmp'));
      // What the runtime does after removing its mount stubs: restore the time to the nanosecond.
      execFileSync('touch', ['-m', '-d', `@${before / 1_000_000_000n}.${(before % 1_000_000_000n).toString().padStart(9, '0')}`, etc]);
      fs.writeFileSync(path.join(snap.rootfs, 'opt/app/keep.js'), 'changed');
      fs.chmodSync(path.join(snap.rootfs, 'usr'), 0o700);
      await snap.release();
      const sink = memorySink();
      const diff = await diffUpperToLayer(snap.upper, sink, { compression: 'none', lowers: [base] });
      // etc/ and opt/, opt/app/ are unchanged copy-ups; usr/ changed mode.
      expect((await readTar(sink.bytes())).map((e) => e.name)).toEqual(['opt/app/keep.js', 'usr/']);
      expect(diff.empty).toBe(false);
    } finally {
      await snap.discard();
    }
  });

  it('keeps hard links within the layer as links to the first path', async () => {
    const { entries } = await diffOf((r) => {
      fs.mkdirSync(path.join(r, 'b'));
      fs.writeFileSync(path.join(r, 'b/z'), 'shared');
      fs.linkSync(path.join(r, 'b/z'), path.join(r, 'a'));
      fs.linkSync(path.join(r, 'b/z'), path.join(r, 'c'));
    });
    expect(entries.map((e) => [e.name, e.type, e.linkname ?? '', e.data])).toEqual([
      ['a', 'file', '', 'shared'],
      ['b/', 'directory', '', ''],
      ['b/z', 'link', 'a', ''],
      ['c', 'link', 'a', ''],
    ]);
  });

  it('keeps security.capability, drops overlay and other xattrs, ignores a forged user.overlay.opaque', async () => {
    const { blob, entries } = await diffOf((r) => {
      fs.writeFileSync(path.join(r, 'ping'), 'binary');
      setAttributeSync(path.join(r, 'ping'), 'security.capability', CAP_NET_RAW);
      setAttributeSync(path.join(r, 'ping'), 'user.note', 'x');
      fs.mkdirSync(path.join(r, 'forged'));
      setAttributeSync(path.join(r, 'forged'), 'user.overlay.opaque', 'y');
    });
    expect(entries.map((e) => e.name)).toEqual(['forged/', 'ping']);
    const tarBytes = zlib.gunzipSync(blob);
    const key = Buffer.from('SCHILY.xattr.security.capability=');
    const at = tarBytes.indexOf(key);
    expect(at).toBeGreaterThan(0);
    expect(tarBytes.subarray(at + key.length, at + key.length + CAP_NET_RAW.length).equals(CAP_NET_RAW)).toBe(true);
    expect(tarBytes.includes('user.note')).toBe(false);
  });

  it('is deterministic: the same changes made twice give the same digests with SOURCE_DATE_EPOCH', async () => {
    const change = (r: string) => {
      fs.mkdirSync(path.join(r, 'app'));
      fs.writeFileSync(path.join(r, 'app/main.js'), 'console.log(1)');
      fs.rmSync(path.join(r, 'bin/vi'));
    };
    const first = await diffOf(change);
    const second = await diffOf((r) => {
      change(r);
      // A later build writes later timestamps; the clamp must make them irrelevant.
      const later = new Date(Date.now() + 86_400_000);
      fs.utimesSync(path.join(r, 'app/main.js'), later, later);
      fs.utimesSync(path.join(r, 'app'), later, later);
    });
    expect(first.entries.find((e) => e.name === 'app/main.js')!.mtime).toBe(EPOCH);
    expect(second.diff.digest).toBe(first.diff.digest);
    expect(second.diff.diffId).toBe(first.diff.diffId);
  });

  it('refuses files named .wh.* instead of emitting a deletion', async () => {
    await expect(diffOf((r) => fs.writeFileSync(path.join(r, 'opt/app/.wh.keep.js'), ''))).rejects.toMatchObject({
      code: 'TB_EXEC_WHITEOUT_NAME',
      message: expect.stringContaining('/opt/app/.wh.keep.js'),
    });
    await expect(diffOf((r) => fs.mkdirSync(path.join(r, '.wh..wh..opq')))).rejects.toMatchObject({ code: 'TB_EXEC_WHITEOUT_NAME' });
  });

  it('refuses names that are not valid UTF-8', async () => {
    await expect(
      diffOf((r) => fs.writeFileSync(Buffer.concat([Buffer.from(`${r}/bad-`), Buffer.from([0xff, 0xfe])]), '')),
    ).rejects.toMatchObject({ code: 'TB_EXEC_UNREPRESENTABLE_NAME' });
  });

  it('takes the stat of files the caller moved in as given, and no xattrs of theirs', async () => {
    let given: fs.BigIntStats | undefined;
    const change = (r: string) => {
      fs.writeFileSync(path.join(r, 'moved'), 'bytes', { mode: 0o644 });
      given = fs.lstatSync(path.join(r, 'moved'), { bigint: true });
      // What the given stat does not show, so that the entries tell which one the walk used.
      fs.chmodSync(path.join(r, 'moved'), 0o600);
      setAttributeSync(path.join(r, 'moved'), 'security.capability', CAP_NET_RAW);
    };
    const own = await diffOf(change);
    expect(own.entries.find((e) => e.name === 'moved')).toMatchObject({ mode: 0o600, pax: { 'SCHILY.xattr.security.capability': expect.anything() } });
    const known = await diffOf(change, EPOCH, () => new Map([['moved', given!]]));
    const entry = known.entries.find((e) => e.name === 'moved')!;
    expect(entry.mode).toBe(0o644);
    expect(entry.pax?.['SCHILY.xattr.security.capability']).toBeUndefined();
    expect(entry.data).toBe('bytes');
  });

  it('reports an untouched upper dir as empty, and streams into a Node Writable without ending it', async () => {
    const snap = await snapshotter.prepare({ lowers: [base], key: 'empty' });
    try {
      await snap.release();
      const stream = new PassThrough();
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      const diff = await diffUpperToLayer(snap.upper, stream, { compression: 'none' });
      expect(diff.empty).toBe(true);
      expect(stream.writableEnded).toBe(false);
      expect(Buffer.concat(chunks)).toEqual(Buffer.alloc(1024));
      expect(diff.digest).toBe(diff.diffId);
      expect(diff.size).toBe(1024);
    } finally {
      await snap.discard();
    }
  });
});

describe('reading a big file into the tar', () => {
  it('reads it in 1 MB chunks and the rest, and fails once it is not the size the walk saw', async () => {
    const tmp = tempDir('tbuild-chunks-');
    try {
      const file = path.join(tmp.dir, 'big.bin');
      const bytes = crypto.randomBytes(3 * (1 << 20) + 5);
      fs.writeFileSync(file, bytes);
      const chunks: Buffer[] = [];
      for await (const c of fileChunks(file, bytes.length)) chunks.push(c);
      expect(chunks.map((c) => c.length)).toEqual([1 << 20, 1 << 20, 1 << 20, 5]);
      // Each chunk is a buffer of its own length: nothing copied into a smaller one after.
      expect(chunks.map((c) => c.buffer.byteLength)).toEqual([1 << 20, 1 << 20, 1 << 20, 5]);
      expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
      const drain = async (size: number) => {
        for await (const _ of fileChunks(file, size));
      };
      await expect(drain(bytes.length - 1)).rejects.toThrow('changed size while being archived');
      await expect(drain(bytes.length + 1)).rejects.toThrow('changed size while being archived');
    } finally {
      tmp.cleanup();
    }
  });
});
