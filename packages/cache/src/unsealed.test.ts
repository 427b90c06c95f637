import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isSha256Digest, isUnsealed, Store, type StepRecord } from './index.ts';

const roots: string[] = [];
async function openStore(): Promise<Store> {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tbuild-unsealed-'));
  roots.push(d);
  return Store.open(path.join(d, 'root'));
}
afterEach(() => {
  for (const d of roots.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** An upper dir as a step leaves it, made in the store's tmp (the same filesystem). */
async function upperWith(store: Store, files: Record<string, string>): Promise<string> {
  const dir = await store.makeTempDir();
  for (const [name, data] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), data);
  return dir;
}

function record(key: string, layer: StepRecord['layer']): StepRecord {
  return { key, ...(layer ? { layer } : {}), created: '2026-01-01T00:00:00.000Z', lastUsed: '2026-01-01T00:00:00.000Z', hits: 0, size: 0 };
}

function removeSnapshot(store: Store, diffId: string): void {
  fs.rmSync(path.dirname(store.snapshotPath(diffId)), { recursive: true, force: true });
}

describe('unsealed layers: a snapshot without a blob', () => {
  it('stores an upper dir as the snapshot of a new layer, named by a fresh id that records and leases accept', async () => {
    const store = await openStore();
    const a = await store.adoptUnsealed(await upperWith(store, { f: 'one' }));
    const b = await store.adoptUnsealed(await upperWith(store, { f: 'one' }));
    expect(isUnsealed(a)).toBe(true);
    expect(a.digest).toBe(a.diffId);
    expect(isSha256Digest(a.diffId)).toBe(true);
    // Same files, two layers: an unsealed id says nothing about content.
    expect(b.diffId).not.toBe(a.diffId);
    expect(await store.hasBlob(a.digest)).toBe(false);
    expect(fs.readFileSync(path.join(await store.ensureSnapshot(a), 'f'), 'utf8')).toBe('one');
    await store.putStep(record('k', a));
    expect((await store.getStep('k'))?.layer).toEqual(a);
    expect((await store.verify()).filter((p) => p.kind === 'step')).toEqual([]);
  });

  it('is a miss once its snapshot is gone, since no blob can bring it back', async () => {
    const store = await openStore();
    const a = await store.adoptUnsealed(await upperWith(store, { f: 'one' }));
    await store.putStep(record('k', a));
    removeSnapshot(store, a.diffId);
    expect(await store.getStep('k')).toBeUndefined();
    await expect(store.ensureSnapshot(a)).rejects.toMatchObject({ code: 'TB_CACHE_SNAPSHOT_NOT_FOUND' });
    await expect(store.putStep(record('k2', a))).rejects.toThrow(/not committed/);
    // A miss by design (a rerun COPY took the snapshot), not damage: verify is quiet, gc drops it.
    expect(await store.verify()).toEqual([]);
    expect((await store.gc()).removed).toEqual(['step:k']);
  });

  it('is taken by a rerun COPY like any snapshot, and its record is a miss from then on', async () => {
    const store = await openStore();
    const a = await store.adoptUnsealed(await upperWith(store, { f: 'one' }));
    await store.putStep(record('k', a));
    const taken = await store.takeSnapshot(a.diffId);
    expect(fs.readFileSync(path.join(taken!, 'f'), 'utf8')).toBe('one');
    expect(await store.getStep('k')).toBeUndefined();
  });

  it('is sealed into a record that names a committed blob, and only while the record still names it', async () => {
    const store = await openStore();
    const a = await store.adoptUnsealed(await upperWith(store, { f: 'one' }));
    await store.putStep({ ...record('k', a), hits: 3 });
    const blob = await store.writeBlob('the layer');
    const sealed = { digest: blob.digest, diffId: blob.digest, size: blob.size, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' };
    await expect(store.sealStep('k', a, { ...sealed, digest: `sha256:${'0'.repeat(64)}` })).rejects.toThrow(/not committed/);
    await store.sealStep('k', a, sealed);
    const rec = await store.getStep('k');
    expect(rec?.layer).toEqual(sealed);
    expect(rec?.hits).toBe(3);
    expect(rec?.size).toBe(blob.size);
    // Another layer's seal does not touch it; an empty diff leaves a record without a layer.
    await store.sealStep('k', { diffId: a.diffId }, undefined);
    expect((await store.getStep('k'))?.layer).toEqual(sealed);
    const b = await store.adoptUnsealed(await upperWith(store, {}));
    await store.putStep(record('e', b));
    await store.sealStep('e', b, undefined);
    expect((await store.getStep('e'))?.layer).toBeUndefined();
  });

  it('lives through gc as long as its record does, and goes with it', async () => {
    const store = await openStore();
    const a = await store.adoptUnsealed(await upperWith(store, { f: 'x'.repeat(5000) }));
    await store.putStep(record('k', a));
    expect((await store.gc()).removed).toEqual([]);
    expect(await store.hasSnapshot(a.diffId)).toBe(true);
    const dropped = await store.gc({ keepStorage: 0 });
    expect(dropped.removed).toEqual(['step:k', `snapshot:${a.diffId}`]);
    expect(dropped.freed).toBe(5000);
    expect(await store.hasSnapshot(a.diffId)).toBe(false);
  });
});

describe('a record another process sealed', () => {
  it('is read again when the layer this process remembered is gone', async () => {
    const store = await openStore();
    const other = await Store.open(store.root);
    const a = await store.adoptUnsealed(await upperWith(store, { f: 'one' }));
    await store.putStep(record('k', a));
    expect((await store.getStep('k'))?.layer).toEqual(a);
    const blob = await other.writeBlob('sealed');
    const sealed = { digest: blob.digest, diffId: blob.digest, size: blob.size, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' };
    await other.sealStep('k', a, sealed);
    await other.gc();
    expect(await store.hasSnapshot(a.diffId)).toBe(false);
    expect((await store.getStep('k'))?.layer).toEqual(sealed);
  });
});
