import { describe, expect, it } from 'vitest';
import { isBuildError } from '@tbuild/errors';
import { sha256 } from '../digest.ts';
import { OCI_LAYER_GZIP, OCI_LAYER_ZSTD } from '../media-types.ts';
import { buildCacheConfig, parseCacheConfig, type CacheConfig } from './cache-config.ts';
import { cacheHolder, encodeCacheIndex } from './cache-index.ts';
import { parseDocument } from '../documents.ts';

const layer = { digest: sha256('blob'), diffId: sha256('tar'), size: 4, mediaType: OCI_LAYER_GZIP };
const valid: CacheConfig = {
  version: 'tbuild-cache-v1',
  mode: 'max',
  layers: [layer],
  records: [
    { key: sha256('k1'), parent: sha256('k0'), layer: 0 },
    { key: sha256('k2'), parent: sha256('k1') },
  ],
};

function rejects(mutate: (c: Record<string, unknown>) => void): string | undefined {
  const c = JSON.parse(JSON.stringify(valid)) as Record<string, unknown>;
  mutate(c);
  try {
    parseCacheConfig(Buffer.from(JSON.stringify(c)), 'test cache');
  } catch (e) {
    return isBuildError(e) ? e.code : `not a BuildError: ${String(e)}`;
  }
  return undefined;
}

describe('cache config', () => {
  it('parses what buildCacheConfig writes, keeping one record per key and one layer per blob', () => {
    const cfg = buildCacheConfig(
      [
        { key: sha256('k1'), parent: sha256('k0'), layer },
        { key: sha256('k1'), parent: sha256('k0'), layer },
        { key: sha256('k3'), parent: sha256('k1'), layer },
      ],
      'min',
    );
    expect(cfg.layers).toHaveLength(1);
    expect(cfg.records.map((r) => r.layer)).toEqual([0, 0]);
    expect(parseCacheConfig(Buffer.from(JSON.stringify(cfg)), 'x')).toEqual(cfg);
  });

  it('refuses hostile or foreign documents with TB_CACHE_REMOTE_INVALID', () => {
    expect(rejects(() => undefined)).toBeUndefined();
    expect(rejects((c) => (c.version = 'buildkit'))).toBe('TB_CACHE_REMOTE_INVALID');
    expect(rejects((c) => (c.mode = 'all'))).toBe('TB_CACHE_REMOTE_INVALID');
    expect(rejects((c) => ((c.records as Array<Record<string, unknown>>)[0]!.layer = 1))).toBe('TB_CACHE_REMOTE_INVALID');
    expect(rejects((c) => ((c.records as Array<Record<string, unknown>>)[0]!.layer = -1))).toBe('TB_CACHE_REMOTE_INVALID');
    expect(rejects((c) => ((c.records as Array<Record<string, unknown>>)[1]!.key = sha256('k1')))).toBe('TB_CACHE_REMOTE_INVALID');
    expect(rejects((c) => ((c.records as Array<Record<string, unknown>>)[0]!.key = 'k1'))).toBe('TB_CACHE_REMOTE_INVALID');
    expect(rejects((c) => ((c.layers as Array<Record<string, unknown>>)[0]!.digest = '../../etc/passwd'))).toBe('TB_CACHE_REMOTE_INVALID');
    expect(rejects((c) => ((c.layers as Array<Record<string, unknown>>)[0]!.mediaType = OCI_LAYER_ZSTD))).toBe('TB_CACHE_REMOTE_INVALID');
    expect(rejects((c) => ((c.layers as Array<Record<string, unknown>>)[0]!.size = 1.5))).toBe('TB_CACHE_REMOTE_INVALID');
    expect(rejects((c) => (c.records = {}))).toBe('TB_CACHE_REMOTE_INVALID');
    try {
      parseCacheConfig(Buffer.from('{"version": '), 'x');
      expect.unreachable();
    } catch (e) {
      expect(isBuildError(e) && e.code).toBe('TB_CACHE_REMOTE_INVALID');
    }
  });

  it('the cache index lists every layer and the config, and reads back as a cache', () => {
    const enc = encodeCacheIndex(valid);
    const doc = parseDocument(enc.indexBytes, 'index');
    expect(doc.kind).toBe('index');
    if (doc.kind !== 'index') return;
    expect(doc.index.manifests.map((m) => m.digest)).toEqual([layer.digest, enc.configDesc.digest]);
    expect(cacheHolder(doc)).toEqual({ kind: 'config', desc: enc.configDesc });
    expect(encodeCacheIndex(JSON.parse(JSON.stringify(valid)) as CacheConfig).indexDigest).toBe(enc.indexDigest);
  });

  it('tells a BuildKit cache and an index of plain blobs from a tbuild cache', () => {
    const index = (manifests: Array<{ mediaType: string }>) =>
      parseDocument(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: manifests.map((m) => ({ ...m, digest: layer.digest, size: 4 })) })), 'x');
    expect(() => cacheHolder(index([{ mediaType: OCI_LAYER_GZIP }, { mediaType: 'application/vnd.buildkit.cacheconfig.v0' }]))).toThrow(/BuildKit cache/);
    expect(cacheHolder(index([{ mediaType: OCI_LAYER_GZIP }]))).toEqual({ kind: 'none' });
    expect(cacheHolder(index([{ mediaType: 'application/vnd.oci.image.manifest.v1+json' }]))).toEqual({ kind: 'image-index' });
  });
});
