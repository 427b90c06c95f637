import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { isBuildError } from '@tbuild/errors';
import { sha256 } from '../digest.ts';
import { OCI_LAYER_GZIP } from '../media-types.ts';
import { RegistryClient } from '../registry-client.ts';
import { openTestStore } from '../testing/store.ts';
import type { CacheEntry, CacheLayer } from './cache-config.ts';
import { exportCache } from './export-cache.ts';
import { RemoteCache } from './remote-cache.ts';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

async function store() {
  const s = await openTestStore();
  cleanups.push(s.cleanup);
  return s;
}

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tbuild-cache-dir-'));
  cleanups.push(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

const key = (n: number): string => sha256(`key ${n}`);

/** A store holding one gzip layer, and entries for a two-step chain: a layer, then an empty diff. */
async function exporter(opts: { diffId?: string } = {}) {
  const s = await store();
  const raw = Buffer.from('pretend this is a tar');
  const blob = await s.writeBlob(gzipSync(raw));
  const layer: CacheLayer = { digest: blob.digest, size: blob.size, diffId: opts.diffId ?? sha256(raw), mediaType: OCI_LAYER_GZIP };
  const entries: CacheEntry[] = [
    { key: key(1), parent: key(0), layer, stage: 'build', line: 2, text: 'RUN make', created: '2024-05-01T10:00:00Z' },
    { key: key(2), parent: key(1), stage: 'build', line: 3, text: 'ENV A=1' },
  ];
  return { store: s, layer, entries };
}

async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return isBuildError(e) ? e.code : `not a BuildError: ${String(e)}`;
  }
  return 'no error';
}

const client = new RegistryClient();

describe('a cache in a shared directory (type=local)', () => {
  it('round-trips records by key and downloads a layer only when asked, verified', async () => {
    const a = await exporter();
    const dir = tempDir();
    const res = await exportCache({ type: 'local', dest: dir, tag: 'latest', mode: 'max' }, a.entries, { client, store: a.store });
    expect(res).toMatchObject({ records: 2, layers: 1, uploaded: 1, existing: 0 });

    const remote = await RemoteCache.open([{ type: 'local', src: dir, tag: 'latest' }], { client, strict: true });
    const hit = remote.lookup(key(1));
    expect(hit?.layer).toEqual(a.layer);
    expect(hit?.record).toMatchObject({ parent: key(0), created: '2024-05-01T10:00:00Z', text: 'RUN make' });
    expect(remote.lookup(key(2))?.layer).toBeUndefined();
    expect(remote.lookup(key(3))).toBeUndefined();

    const b = await store();
    expect(await b.hasBlob(a.layer.digest)).toBe(false);
    await remote.fetchLayer(a.layer, b);
    expect(await b.hasBlob(a.layer.digest)).toBe(true);
  });

  it('a second export of the same cache copies no layer', async () => {
    const a = await exporter();
    const dir = tempDir();
    const spec = { type: 'local', dest: dir, tag: 'latest', mode: 'max' } as const;
    const first = await exportCache(spec, a.entries, { client, store: a.store });
    const second = await exportCache(spec, a.entries, { client, store: a.store });
    expect(second).toMatchObject({ uploaded: 0, existing: 1 });
    // Equal caches are equal documents.
    expect(second.digest).toBe(first.digest);
  });

  it('keeps other tags of the directory when exporting one', async () => {
    const a = await exporter();
    const dir = tempDir();
    await exportCache({ type: 'local', dest: dir, tag: 'one', mode: 'max' }, a.entries, { client, store: a.store });
    await exportCache({ type: 'local', dest: dir, tag: 'two', mode: 'min' }, a.entries.slice(0, 1), { client, store: a.store });
    const one = await RemoteCache.open([{ type: 'local', src: dir, tag: 'one' }], { client, strict: true });
    const two = await RemoteCache.open([{ type: 'local', src: dir, tag: 'two' }], { client, strict: true });
    expect(one.loaded()[0]!.config.records).toHaveLength(2);
    expect(two.loaded()[0]!.config).toMatchObject({ mode: 'min', records: [{ key: key(1) }] });
  });

  it('rejects a layer altered after export, and stores nothing of it', async () => {
    const a = await exporter();
    const dir = tempDir();
    await exportCache({ type: 'local', dest: dir, tag: 'latest', mode: 'max' }, a.entries, { client, store: a.store });
    const file = path.join(dir, 'blobs/sha256', a.layer.digest.slice(7));
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    fs.chmodSync(file, 0o644);
    fs.writeFileSync(file, bytes);
    const remote = await RemoteCache.open([{ type: 'local', src: dir, tag: 'latest' }], { client, strict: true });
    const b = await store();
    expect(await errorCode(remote.fetchLayer(a.layer, b))).toBe('TB_CACHE_DIGEST_MISMATCH');
    expect(await b.hasBlob(a.layer.digest)).toBe(false);
  });

  it('rejects a layer whose content does not match the diffID the cache claims', async () => {
    const a = await exporter({ diffId: sha256('something else') });
    const dir = tempDir();
    await exportCache({ type: 'local', dest: dir, tag: 'latest', mode: 'max' }, a.entries, { client, store: a.store });
    const remote = await RemoteCache.open([{ type: 'local', src: dir, tag: 'latest' }], { client, strict: true });
    expect(await errorCode(remote.fetchLayer(a.layer, await store()))).toBe('TB_CACHE_DIFFID_MISMATCH');
    // Also when the blob is already local: the claim would end up in an image config.
    expect(await errorCode(remote.fetchLayer(a.layer, a.store))).toBe('TB_CACHE_DIFFID_MISMATCH');
  });

  it('a missing cache is a warning when building and an error when listing', async () => {
    const warnings: string[] = [];
    const remote = await RemoteCache.open([{ type: 'local', src: tempDir(), tag: 'latest' }], { client, onWarning: (m) => warnings.push(m) });
    expect(remote.loaded()).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(await errorCode(RemoteCache.open([{ type: 'local', src: tempDir(), tag: 'latest' }], { client, strict: true }))).toBe('TB_CACHE_REMOTE_NOT_FOUND');
  });

  it('an unreadable cache is skipped with a warning, not trusted', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'index.json'), '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:' + 'a'.repeat(64) + '","size":10,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}');
    const warnings: string[] = [];
    const remote = await RemoteCache.open([{ type: 'local', src: dir, tag: 'latest' }], { client, onWarning: (m) => warnings.push(m) });
    expect(remote.loaded()).toEqual([]);
    expect(warnings[0]).toContain('cannot read blob');
  });
});
