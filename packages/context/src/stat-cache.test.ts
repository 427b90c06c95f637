import { describe, expect, it } from 'vitest';
import { MAX_AGE, StatCache, type Freshness } from './stat-cache.ts';

const unknown = (): Freshness => 'unknown';

/** A cache with `entries` recorded and encoded, as a build leaves it. */
function persisted(entries: Array<[string, bigint, bigint]>, selections: Array<[string, bigint, string]> = []): Buffer {
  const c = StatCache.empty();
  for (const [rel, fp, hash] of entries) c.record(rel, fp, hash);
  for (const [key, fp, digest] of selections) c.recordSelection(key, fp, digest);
  return c.encode(unknown);
}

describe('StatCache', () => {
  it('answers a lookup only for the fingerprint it was recorded with', () => {
    const c = StatCache.decode(persisted([['a/b.txt', 1n, 11n], ['ünï/日本', 2n, 0xffff_ffff_ffff_ffffn]]));
    expect(c.size).toBe(2);
    expect(c.lookup('a/b.txt', 1n)).toBe(11n);
    expect(c.lookup('a/b.txt', 3n)).toBeUndefined();
    expect(c.lookup('ünï/日本', 2n)).toBe(0xffff_ffff_ffff_ffffn);
    expect(c.lookup('missing', 1n)).toBeUndefined();
  });

  it('gives back the entries a build only looked up byte for byte, and new hashes after them', () => {
    const data = persisted([['x', 1n, 10n], ['y', 2n, 20n]]);
    const c = StatCache.decode(data);
    expect(c.lookup('x', 1n)).toBe(10n);
    expect(c.lookup('y', 2n)).toBe(20n);
    expect(c.encode(unknown)).toEqual(data);
    c.record('z', 3n, 30n);
    const next = StatCache.decode(c.encode(unknown));
    expect([next.lookup('x', 1n), next.lookup('y', 2n), next.lookup('z', 3n)]).toEqual([10n, 20n, 30n]);
  });

  it('replaces a changed file, drops one seen changed or gone, and ages one not seen until MAX_AGE', () => {
    let data = persisted([['kept', 1n, 10n], ['edited', 2n, 20n], ['deleted', 3n, 30n], ['unseen', 4n, 40n]]);
    const c = StatCache.decode(data);
    expect(c.lookup('kept', 1n)).toBe(10n);
    expect(c.lookup('edited', 5n)).toBeUndefined();
    c.record('edited', 5n, 50n);
    expect(c.lookup('edited', 5n)).toBe(50n);
    expect(c.hasStale((rel) => (rel === 'deleted' ? 'changed' : 'unknown'))).toBe(true);
    data = c.encode((rel) => (rel === 'deleted' ? 'changed' : 'unknown'));
    const after = StatCache.decode(data);
    expect(after.size).toBe(3);
    expect([after.lookup('kept', 1n), after.lookup('edited', 2n), after.lookup('edited', 5n), after.lookup('deleted', 3n)]).toEqual([10n, undefined, 50n, undefined]);

    // 'unseen' was aged once above; it goes after MAX_AGE builds that never saw it.
    for (let i = 1; i < MAX_AGE; i++) {
      const d = StatCache.decode(data);
      d.record('other', 9n, 90n);
      data = d.encode(unknown);
      expect(StatCache.decode(data).lookup('unseen', 4n), `after ${i + 1} builds`).toBe(40n);
    }
    const last = StatCache.decode(data);
    last.record('other', 9n, 90n);
    expect(StatCache.decode(last.encode(unknown)).lookup('unseen', 4n)).toBeUndefined();
  });

  it('makes an entry the build saw unchanged, or looked up, young again', () => {
    let data = persisted([['seen', 1n, 10n], ['looked', 2n, 20n]]);
    for (let i = 0; i < MAX_AGE + 2; i++) {
      const c = StatCache.decode(data);
      // Looked up once, half-way: it then lasts MAX_AGE builds from there.
      if (i === MAX_AGE / 2) expect(c.lookup('looked', 2n)).toBe(20n);
      c.record('other', 9n, 90n);
      data = c.encode((rel) => (rel === 'seen' ? 'same' : 'unknown'));
    }
    expect(StatCache.decode(data).lookup('seen', 1n)).toBe(10n);
    expect(StatCache.decode(data).lookup('looked', 2n)).toBe(20n);
  });

  it('keeps selections, and their entries untouched when only a selection changed', () => {
    const data = persisted([['a', 1n, 10n]], [['sel', 7n, 'sha256:abc']]);
    const c = StatCache.decode(data);
    expect(c.selectionDigest('sel', 7n)).toBe('sha256:abc');
    expect(c.selectionDigest('sel', 8n)).toBeUndefined();
    c.recordSelection('sel2', 8n, 'sha256:def');
    const next = StatCache.decode(c.encode(unknown));
    expect([next.selectionDigest('sel', 7n), next.selectionDigest('sel2', 8n), next.lookup('a', 1n)]).toEqual(['sha256:abc', 'sha256:def', 10n]);
  });

  it('reads malformed or repeated entries as none, never as a wrong hash', () => {
    const data = persisted([['a', 1n, 10n], ['b', 2n, 20n]]);
    for (const bad of [data.subarray(0, data.length - 1), Buffer.concat([data, Buffer.of(0)])]) {
      expect(StatCache.decode(bad).lookup('a', 1n)).toBeUndefined();
    }
    const repeated = Buffer.from(data);
    // Both paths are one byte long: make the second record name the first path.
    repeated[repeated.length - 17 - 1] = 'a'.charCodeAt(0);
    expect(StatCache.decode(repeated).lookup('a', 1n)).toBeUndefined();
    const huge = Buffer.from(data);
    huge.writeUInt32LE(0xffff_fff0, 13);
    expect(StatCache.decode(huge).size).toBe(0);
  });
});
