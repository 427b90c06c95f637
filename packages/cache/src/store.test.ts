import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultStoreRoot, sha256Digest, Store, type StepRecord } from './index.ts';

const roots: string[] = [];
function tmpRoot(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tbuild-store-'));
  roots.push(d);
  return path.join(d, 'root');
}
afterEach(() => {
  for (const d of roots.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function flipByte(file: string, at = 0): void {
  fs.chmodSync(file, 0o644);
  const b = fs.readFileSync(file);
  b[at] = b[at]! ^ 1;
  fs.writeFileSync(file, b);
}

function step(key: string, layer?: { digest: string; diffId: string }, lastUsed = '2026-01-01T00:00:00.000Z'): StepRecord {
  return {
    key,
    ...(layer ? { layer: { ...layer, size: 1, mediaType: 'application/vnd.oci.image.layer.v1.tar' } } : {}),
    created: lastUsed,
    lastUsed,
    hits: 0,
    size: 1,
  };
}

describe('Store layout', () => {
  it('creates a private layout with a VERSION file and refuses a newer one', async () => {
    const root = tmpRoot();
    const store = await Store.open(root);
    expect(fs.readFileSync(path.join(root, 'VERSION'), 'utf8')).toBe('1\n');
    expect(fs.statSync(root).mode & 0o777).toBe(0o700);
    expect(fs.existsSync(store.dirs.blobs)).toBe(true);
    fs.writeFileSync(path.join(root, 'VERSION'), '2\n');
    await expect(Store.open(root)).rejects.toMatchObject({ code: 'TB_CACHE_LAYOUT_TOO_NEW' });
  });

  it('refuses a non-empty directory that is not a store', async () => {
    const root = tmpRoot();
    fs.mkdirSync(root);
    fs.writeFileSync(path.join(root, 'precious.txt'), 'x');
    await expect(Store.open(root)).rejects.toMatchObject({ code: 'TB_CACHE_LAYOUT_INVALID' });
    expect(fs.readdirSync(root)).toEqual(['precious.txt']);
  });

  it('finds the default root from the environment', () => {
    expect(defaultStoreRoot({ TBUILD_ROOT: '/r', XDG_DATA_HOME: '/x', HOME: '/h' })).toBe('/r');
    expect(defaultStoreRoot({ XDG_DATA_HOME: '/x', HOME: '/h' })).toBe('/x/tbuild');
    expect(defaultStoreRoot({ HOME: '/h' })).toBe('/h/.local/share/tbuild');
  });
});

describe('blobs', () => {
  it('writes from buffers, strings and streams, and reads back verified content', async () => {
    const store = await Store.open(tmpRoot());
    const a = await store.writeBlob(Buffer.from('hello'));
    expect(a).toEqual({ digest: sha256Digest('hello'), size: 5 });
    expect(await store.writeBlob('hello')).toEqual(a);
    async function* gen(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('hel');
      yield Buffer.from('lo');
    }
    expect(await store.writeBlob(gen(), { digest: a.digest, size: 5 })).toEqual(a);
    expect((await store.readBlob(a.digest)).toString()).toBe('hello');
    expect(await store.hasBlob(a.digest)).toBe(true);
    expect(fs.readdirSync(store.dirs.tmp)).toEqual([]);
  });

  it('refuses content that does not match the expected digest or size, leaving nothing behind', async () => {
    const store = await Store.open(tmpRoot());
    await expect(store.writeBlob('hello', { digest: sha256Digest('other') })).rejects.toMatchObject({ code: 'TB_CACHE_DIGEST_MISMATCH' });
    await expect(store.writeBlob('hello', { size: 4 })).rejects.toMatchObject({ code: 'TB_CACHE_SIZE_MISMATCH' });
    expect(await store.hasBlob(sha256Digest('hello'))).toBe(false);
    expect(fs.readdirSync(store.dirs.tmp)).toEqual([]);
  });

  it('streams with blobWriter and aborts cleanly', async () => {
    const store = await Store.open(tmpRoot());
    const w = store.blobWriter();
    await w.write(Buffer.from('a'));
    await w.write('b');
    expect(await w.commit()).toEqual({ digest: sha256Digest('ab'), size: 2 });
    // writev: many pieces, empty ones among them, more than one system call takes (IOV_MAX 1024).
    const pieces = Array.from({ length: 2500 }, (_, i) => Buffer.from(i % 7 === 0 ? '' : `piece ${i};`));
    const wv = store.blobWriter();
    await wv.write('head;');
    await wv.writev(pieces);
    const all = Buffer.concat([Buffer.from('head;'), ...pieces]);
    const done = await wv.commit();
    expect(done).toEqual({ digest: sha256Digest(all), size: all.length });
    expect((await store.readBlob(done.digest)).equals(all)).toBe(true);
    const w2 = store.blobWriter();
    await w2.write('partial');
    await w2.abort();
    expect(fs.readdirSync(store.dirs.tmp)).toEqual([]);
    expect(await store.hasBlob(sha256Digest('partial'))).toBe(false);
  });

  it('detects a flipped byte: readBlob rejects, verify reports, getStep misses', async () => {
    const store = await Store.open(tmpRoot());
    const { digest } = await store.writeBlob('layer bytes');
    await store.putStep(step('k1', { digest, diffId: digest }));
    expect(await store.getStep('k1')).toBeDefined();
    flipByte(store.blobPath(digest));
    await expect(store.readBlob(digest)).rejects.toMatchObject({ code: 'TB_CACHE_CORRUPT' });
    expect(await store.getStep('k1')).toBeUndefined();
    const problems = await store.verify();
    expect(problems).toContainEqual({ kind: 'blob', id: digest, problem: expect.stringContaining('content hashes to') });
    expect(problems).toContainEqual({ kind: 'step', id: 'k1', problem: expect.stringContaining('missing or corrupt') });
    await store.verify({ repair: true });
    expect(await store.hasBlob(digest)).toBe(false);
    expect(await store.listSteps()).toEqual([]);
    expect(await store.verify()).toEqual([]);
  });
});

describe('blob verification across processes', () => {
  it('trusts a blob another store instance verified, until the blob file changes', async () => {
    const root = tmpRoot();
    const first = await Store.open(root);
    const blob = await first.writeBlob(Buffer.from('layer bytes'));
    expect(await first.blobIntact(blob.digest)).toBe(true);
    await first.settled();

    const second = await Store.open(root);
    expect(await second.blobIntact(blob.digest)).toBe(true);
    // Same size, one bit off: the file's ctime moves, so the saved verification no longer applies.
    flipByte(second.blobPath(blob.digest));
    expect(await (await Store.open(root)).blobIntact(blob.digest)).toBe(false);
  });

  it('counts a blob it wrote as verified, under the identity the file has in the store', async () => {
    const root = tmpRoot();
    const first = await Store.open(root);
    const blob = await first.writeBlob(Buffer.from('layer bytes written here'));
    // No blobIntact: the writer hashed what it wrote, so no build has to hash it again.
    await first.settled();
    const st = fs.statSync(first.blobPath(blob.digest));
    const saved = JSON.parse((await first.readMeta('verified-blobs'))!.toString()) as Record<string, string>;
    expect(saved[blob.digest]).toBe(`${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`);
    flipByte(first.blobPath(blob.digest));
    expect(await (await Store.open(root)).blobIntact(blob.digest)).toBe(false);
  });
});

describe('steps, refs and metadata', () => {
  it('stores, touches, lists and deletes step records; first writer wins', async () => {
    const store = await Store.open(tmpRoot());
    const { digest } = await store.writeBlob('l');
    await store.putStep({ ...step('k', { digest, diffId: digest }), config: { Env: ['A=1'] } });
    await store.putStep({ ...step('k'), config: { Env: ['A=2'] } });
    expect((await store.getStep('k'))?.config).toEqual({ Env: ['A=1'] });
    await store.touchStep('k');
    await store.touchStep('k');
    const [rec] = await store.listSteps();
    expect(rec?.key).toBe('k');
    expect(rec?.hits).toBe(2);
    expect(rec!.lastUsed > '2026-01-01T00:00:00.000Z').toBe(true);
    await store.deleteStep('k');
    expect(await store.getStep('k')).toBeUndefined();
  });

  it('journals hits: one append per event-loop turn, folded into the record by gc', async () => {
    const root = tmpRoot();
    const store = await Store.open(root);
    await store.putStep(step('a'));
    await store.putStep(step('b'));
    await Promise.all([store.touchStep('a'), store.touchStep('a'), store.touchStep('b')]);
    await store.touchStep('a');
    const journal = path.join(root, 'meta', 'step-usage.log');
    expect(fs.readFileSync(journal, 'utf8').trim().split('\n')).toHaveLength(4);
    // A line cut short by a crash is skipped; the records on disk are untouched until a fold.
    fs.appendFileSync(journal, '2026-11-25T10:00:00');
    expect(JSON.parse(fs.readFileSync(path.join(root, 'steps', fs.readdirSync(path.join(root, 'steps'))[0]!), 'utf8')).hits).toBe(0);
    const hits = async (s: Store) => Object.fromEntries((await s.listSteps()).map((r) => [r.key, r.hits]));
    expect(await hits(store)).toEqual({ a: 3, b: 1 });
    await store.gc({ keepStorage: Number.MAX_SAFE_INTEGER });
    expect(fs.existsSync(journal)).toBe(false);
    const reopened = await Store.open(root);
    expect(await hits(reopened)).toEqual({ a: 3, b: 1 });
    await reopened.touchStep('b');
    expect(await hits(reopened)).toEqual({ a: 3, b: 2 });
  });

  it('gc drops copy-donor notes whose snapshot is gone, and keeps other metadata', async () => {
    const root = tmpRoot();
    const store = await Store.open(root);
    await store.writeMeta('copy-donor-orphan', JSON.stringify({ diffId: `sha256:${'0'.repeat(64)}`, files: {} }));
    await store.writeMeta('copy-donor-garbled', '{');
    await store.writeMeta('other-note', 'kept');
    await store.gc({ keepStorage: Number.MAX_SAFE_INTEGER });
    expect(fs.readdirSync(path.join(root, 'meta')).filter((n) => !n.startsWith('verified')).sort()).toEqual(['other-note']);
  });

  it('gc counts a file that snapshots share (a COPY result linked by an earlier tbuild) once in what it freed', async () => {
    const store = await Store.open(tmpRoot());
    const a = await store.makeTempDir();
    const b = await store.makeTempDir();
    fs.writeFileSync(path.join(a, 'shared'), Buffer.alloc(1000));
    fs.linkSync(path.join(a, 'shared'), path.join(b, 'shared'));
    fs.writeFileSync(path.join(a, 'own'), Buffer.alloc(10));
    fs.writeFileSync(path.join(b, 'own'), Buffer.alloc(10));
    await store.adoptSnapshot(sha256Digest('a'), a);
    await store.adoptSnapshot(sha256Digest('b'), b);
    const r = await store.gc({ all: true });
    expect(r.removed.filter((x) => x.startsWith('snapshot:'))).toHaveLength(2);
    expect(r.freed).toBe(1020);
  });

  it('refuses a step whose layer blob is not committed (a programmer error)', async () => {
    const store = await Store.open(tmpRoot());
    const missing = sha256Digest('nope');
    await expect(store.putStep(step('k', { digest: missing, diffId: missing }))).rejects.toThrow(/not committed/);
  });

  it('replaces a record whose blob went bad instead of keeping the broken winner', async () => {
    const store = await Store.open(tmpRoot());
    const a = await store.writeBlob('a');
    await store.putStep(step('k', { digest: a.digest, diffId: a.digest }));
    fs.rmSync(store.blobPath(a.digest));
    const b = await store.writeBlob('b');
    await store.putStep(step('k', { digest: b.digest, diffId: b.digest }));
    expect((await store.getStep('k'))?.layer?.digest).toBe(b.digest);
  });

  it('keeps refs and metadata', async () => {
    const store = await Store.open(tmpRoot());
    const d = sha256Digest('m');
    await store.setRef('localhost:5000/app:latest', d);
    expect(await store.getRef('localhost:5000/app:latest')).toBe(d);
    expect((await store.listRefs()).map((r) => [r.name, r.digest])).toEqual([['localhost:5000/app:latest', d]]);
    await store.deleteRef('localhost:5000/app:latest');
    expect(await store.getRef('localhost:5000/app:latest')).toBeUndefined();
    await store.writeMeta('context-stat-cache', 'data');
    expect((await store.readMeta('context-stat-cache'))?.toString()).toBe('data');
    expect(await store.readMeta('absent')).toBeUndefined();
    await expect(store.writeMeta('../escape', 'x')).rejects.toThrow(/invalid meta name/);
  });
});

describe('gc', () => {
  async function seeded(): Promise<{ store: Store; d: Record<string, string> }> {
    const store = await Store.open(tmpRoot());
    const w = async (s: string): Promise<string> => (await store.writeBlob(s)).digest;
    const layer = await w('image layer');
    const config = await w(JSON.stringify({ rootfs: { type: 'layers', diff_ids: [sha256Digest('image diff')] } }));
    const manifest = await w(JSON.stringify({ mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { digest: config }, layers: [{ digest: layer }] }));
    const index = await w(JSON.stringify({ mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ digest: manifest }] }));
    await store.setRef('app:1', index);
    const stepOld = await w('old step layer');
    const stepNew = await w('new step layer');
    await store.putStep(step('old', { digest: stepOld, diffId: stepOld }, '2026-01-01T00:00:00.000Z'));
    await store.putStep(step('new', { digest: stepNew, diffId: stepNew }, '2026-06-01T00:00:00.000Z'));
    const leased = await w('leased');
    const garbage = await w('garbage');
    return { store, d: { layer, config, manifest, index, stepOld, stepNew, leased, garbage } };
  }

  it('removes only unreachable blobs and never a leased or referenced one', async () => {
    const { store, d } = await seeded();
    const release = await store.lease([d.leased!]);
    const dry = await store.gc({ dryRun: true });
    expect(dry.removed).toEqual([`blob:${d.garbage}`]);
    expect(await store.hasBlob(d.garbage!)).toBe(true);
    const res = await store.gc();
    expect(res.removed).toEqual([`blob:${d.garbage}`]);
    expect(res.freed).toBe('garbage'.length);
    for (const k of ['layer', 'config', 'manifest', 'index', 'stepOld', 'stepNew', 'leased']) expect(await store.hasBlob(d[k]!)).toBe(true);
    await release();
    expect((await store.gc()).removed).toEqual([`blob:${d.leased}`]);
  });

  it('drops steps by age, by storage budget (LRU) or all, keeping image content', async () => {
    const { store, d } = await seeded();
    const r1 = await store.gc({ until: Date.parse('2026-03-01T00:00:00Z') });
    expect(r1.removed).toContain('step:old');
    expect(r1.removed).toContain(`blob:${d.stepOld}`);
    expect(await store.getStep('new')).toBeDefined();
    const r2 = await store.gc({ keepStorage: 0 });
    expect(r2.removed).toContain('step:new');
    expect(await store.listSteps()).toEqual([]);
    expect(await store.hasBlob(d.layer!)).toBe(true);
    await store.putStep(step('x'));
    expect((await store.gc({ all: true })).removed).toContain('step:x');
  });
});

describe('locks', () => {
  it('excludes a second holder until the first releases', async () => {
    const store = await Store.open(tmpRoot());
    const order: string[] = [];
    const release1 = await store.lock('build');
    const second = store.lock('build').then((r) => {
      order.push('second acquired');
      return r;
    });
    await new Promise((r) => setTimeout(r, 200));
    order.push('first releasing');
    await release1();
    const release2 = await second;
    await release2();
    expect(order).toEqual(['first releasing', 'second acquired']);
  });
});
