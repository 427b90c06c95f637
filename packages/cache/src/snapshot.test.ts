import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { isRoot, NEEDS_ROOT } from '../../../test/support/root.ts';
import { getXattr } from './extract/hostile-fixture.ts';
import { sha256Digest, Store } from './index.ts';
import { buildTar, type TarSpec } from './testing/tar-builder.ts';

const roots: string[] = [];
async function openStore(): Promise<Store> {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tbuild-snap-'));
  roots.push(d);
  return Store.open(path.join(d, 'root'));
}
afterEach(() => {
  for (const d of roots.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

async function putLayer(store: Store, entries: TarSpec[]): Promise<{ digest: string; diffId: string; mediaType: string }> {
  const tar = buildTar(entries);
  const { digest } = await store.writeBlob(zlib.gzipSync(tar));
  return { digest, diffId: sha256Digest(tar), mediaType: GZIP };
}

// VFS_CAP_REVISION_2 | effective, permitted = CAP_NET_BIND_SERVICE: 20 bytes with NULs in them.
const CAP = Buffer.from([0x01, 0, 0, 0x02, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

describe('snapshot paths', () => {
  it('uses short slot paths and moves to a suffixed slot on a prefix collision', async () => {
    const store = await openStore();
    const a = `sha256:${'ab'.repeat(8)}${'0'.repeat(48)}`;
    const b = `sha256:${'ab'.repeat(8)}${'1'.repeat(48)}`;
    expect(store.snapshotPath(a)).toBe(path.join(store.root, 's', 'ab'.repeat(8), 'fs'));
    const dirA = await store.makeTempDir();
    fs.writeFileSync(path.join(dirA, 'f'), 'a');
    expect(await store.adoptSnapshot(a, dirA)).toBe(store.snapshotPath(a));
    expect(store.snapshotPath(b)).toBe(path.join(store.root, 's', `${'ab'.repeat(8)}.1`, 'fs'));
    expect(await store.hasSnapshot(b)).toBe(false);
    expect(await store.hasSnapshot(a)).toBe(true);
  });

  it('lets the first adopter win and removes the loser', async () => {
    const store = await openStore();
    const id = sha256Digest('upper');
    const d1 = await store.makeTempDir();
    const d2 = await store.makeTempDir();
    fs.writeFileSync(path.join(d1, 'who'), '1');
    fs.writeFileSync(path.join(d2, 'who'), '2');
    const [p1, p2] = await Promise.all([store.adoptSnapshot(id, d1), store.adoptSnapshot(id, d2)]);
    expect(p1).toBe(p2);
    expect(fs.existsSync(d1) && fs.existsSync(d2)).toBe(false);
    expect(['1', '2']).toContain(fs.readFileSync(path.join(p1, 'who'), 'utf8'));
    // The loser is moved aside at once and removed in the background.
    await store.settled();
    expect(fs.readdirSync(path.dirname(d1))).toEqual([]);
  });
});

describe.skipIf(!isRoot)(`ensureSnapshot (${NEEDS_ROOT})`, () => {
  it('unpacks a layer in overlay format: whiteouts, opaque dirs, devices, capabilities', async () => {
    const store = await openStore();
    const layer = await putLayer(store, [
      { name: 'd/', type: 'dir' },
      { name: 'd/.wh..wh..opq', data: '' },
      { name: 'd/kept', data: 'k' },
      { name: '.wh.gone', data: '' },
      { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'bin/ping', data: 'elf', mode: 0o4755, pax: { 'SCHILY.xattr.security.capability': CAP } },
    ]);
    const snap = await store.ensureSnapshot(layer);
    expect(snap).toBe(store.snapshotPath(layer.diffId));
    const gone = fs.lstatSync(path.join(snap, 'gone'));
    expect(gone.isCharacterDevice() && gone.rdev === 0).toBe(true);
    expect(getXattr(path.join(snap, 'd'), 'trusted.overlay.opaque')?.toString()).toBe('y');
    expect(fs.readFileSync(path.join(snap, 'd/kept'), 'utf8')).toBe('k');
    const dn = fs.lstatSync(path.join(snap, 'dev/null'));
    expect(dn.isCharacterDevice() && dn.rdev === ((1 << 8) | 3) && (dn.mode & 0o777) === 0o666).toBe(true);
    expect(fs.statSync(path.join(snap, 'bin/ping')).mode & 0o7777).toBe(0o4755);
    expect(getXattr(path.join(snap, 'bin/ping'), 'security.capability')).toEqual(CAP);
    expect(fs.readdirSync(store.dirs.tmp)).toEqual([]);
  });

  it('shares one unpack between concurrent callers', async () => {
    const store = await openStore();
    const layer = await putLayer(store, [{ name: 'f', data: 'x' }]);
    const paths = await Promise.all([store.ensureSnapshot(layer), store.ensureSnapshot(layer), store.ensureSnapshot(layer)]);
    expect(new Set(paths).size).toBe(1);
    expect(fs.readdirSync(store.dirs.snapshots)).toHaveLength(1);
  });

  it('refuses a layer whose diffID does not match, or whose blob is corrupt, keeping nothing', async () => {
    const store = await openStore();
    const layer = await putLayer(store, [{ name: 'f', data: 'x' }]);
    const wrong = { ...layer, diffId: sha256Digest('something else') };
    await expect(store.ensureSnapshot(wrong)).rejects.toMatchObject({ code: 'TB_CACHE_DIFFID_MISMATCH' });
    expect(await store.hasSnapshot(wrong.diffId)).toBe(false);
    fs.chmodSync(store.blobPath(layer.digest), 0o644);
    fs.appendFileSync(store.blobPath(layer.digest), 'x');
    await expect(store.ensureSnapshot(layer)).rejects.toMatchObject({ code: 'TB_CACHE_CORRUPT' });
    expect(fs.readdirSync(store.dirs.tmp)).toEqual([]);
  });

  it('stacks snapshots as overlay lowerdirs with the spec semantics', async () => {
    const store = await openStore();
    const l1 = await store.ensureSnapshot(
      await putLayer(store, [
        { name: 'a/x', data: 'x' },
        { name: 'a/y', data: 'y' },
        { name: 'b/z', data: 'z' },
        { name: 'gone', data: 'g' },
      ]),
    );
    const l2 = await store.ensureSnapshot(
      await putLayer(store, [
        { name: '.wh.gone', data: '' },
        { name: 'a/new', data: 'n' },
        { name: 'a/.wh..wh..opq', data: '' },
      ]),
    );
    const mnt = await store.makeTempDir();
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${l2}:${l1}`, mnt]);
    try {
      expect(fs.readdirSync(mnt).sort()).toEqual(['a', 'b']);
      expect(fs.readdirSync(path.join(mnt, 'a'))).toEqual(['new']);
      expect(fs.readFileSync(path.join(mnt, 'b/z'), 'utf8')).toBe('z');
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});

async function tagImage(store: Store, ref: string, layer: { digest: string; diffId: string; mediaType: string }): Promise<void> {
  const config = await store.writeBlob(JSON.stringify({ rootfs: { type: 'layers', diff_ids: [layer.diffId] } }));
  const manifest = await store.writeBlob(JSON.stringify({ schemaVersion: 2, config: { digest: config.digest }, layers: [{ digest: layer.digest, mediaType: layer.mediaType }] }));
  await store.setRef(ref, manifest.digest);
}

describe.skipIf(!isRoot)(`takeSnapshot (${NEEDS_ROOT})`, () => {
  it('hands over a snapshot that only an image tag needs; the blob unpacks it again', async () => {
    const store = await openStore();
    const layer = await putLayer(store, [{ name: 'f', data: 'one' }]);
    await tagImage(store, 'docker.io/library/app:latest', layer);
    const snap = await store.ensureSnapshot(layer);
    const ino = fs.statSync(path.join(snap, 'f')).ino;
    const taken = await store.takeSnapshot(layer.diffId);
    expect(taken && path.dirname(taken)).toBe(store.dirs.tmp);
    expect(fs.statSync(path.join(taken!, 'f')).ino).toBe(ino);
    expect(await store.hasSnapshot(layer.diffId)).toBe(false);
    expect(await store.takeSnapshot(layer.diffId)).toBeUndefined();
    expect(await store.takeSnapshot('sha256:not-a-digest')).toBeUndefined();
    const again = await store.ensureSnapshot(layer);
    expect(fs.readFileSync(path.join(again, 'f'), 'utf8')).toBe('one');
    expect(fs.statSync(path.join(again, 'f')).ino).not.toBe(ino);
  });

  it('keeps one that a live lease names, one written since a live build began, and one of a container’s image', async () => {
    const store = await openStore();
    const layer = await putLayer(store, [{ name: 'f', data: 'one' }]);
    await store.ensureSnapshot(layer);
    const named = await store.lease([layer.diffId]);
    expect(await store.takeSnapshot(layer.diffId)).toBeUndefined();
    await named();
    const building = await store.lease([], { since: Date.now() });
    expect(await store.takeSnapshot(layer.diffId)).toBeUndefined();
    await building();
    await tagImage(store, 'container:0123abcd', layer);
    expect(await store.takeSnapshot(layer.diffId)).toBeUndefined();
    expect(await store.hasSnapshot(layer.diffId)).toBe(true);
    await store.deleteRef('container:0123abcd');
    expect(await store.takeSnapshot(layer.diffId)).toBeDefined();
  });
});
