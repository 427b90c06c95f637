import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/support/root.ts';
import { diffUpperToLayer, type LayerDiff } from './diff-upper.ts';
import { gzipStored, looksIncompressible, MemberWriter, STORED, type MemberSource } from './gzip-members.ts';
import { memorySink } from './read-tar.test-support.ts';

// A plain directory stands in for an upper dir: without lowers, every entry is emitted.
describe('layer blobs as gzip members', () => {
  const tmp = tempDir('tbuild-members-');
  const tree = path.join(tmp.dir, 'tree');
  afterAll(() => tmp.cleanup());
  beforeAll(() => {
    // ~6 MB of mostly incompressible 4 KB files: several members.
    for (let d = 0; d < 30; d++) {
      fs.mkdirSync(path.join(tree, `d${d}`), { recursive: true });
      for (let f = 0; f < 50; f++) fs.writeFileSync(path.join(tree, `d${d}/f${f}`), crypto.randomBytes(4096));
      fs.utimesSync(path.join(tree, `d${d}`), 1_000_000, 1_000_000);
    }
  });

  const diff = async (reuse?: MemberSource, trusted?: Map<string, fs.BigIntStats>): Promise<{ d: LayerDiff; blob: Buffer }> => {
    const sink = memorySink();
    const d = await diffUpperToLayer(tree, sink, { compression: 'gzip', sourceDateEpoch: 1_000_000, reuse, trusted });
    return { d, blob: sink.bytes() };
  };
  const from = (blob: Buffer, d: LayerDiff): MemberSource => ({ index: d.members!, read: async (o, n) => blob.subarray(o, o + n) });

  it('is several members that gunzip as one tar with the diff ID', async () => {
    const { d, blob } = await diff();
    expect(d.members!.members.length).toBeGreaterThan(3);
    expect(d.members!.members.reduce((n, m) => n + m.gzSize, 0)).toBe(blob.length);
    const tar = zlib.gunzipSync(blob);
    expect(`sha256:${crypto.createHash('sha256').update(tar).digest('hex')}`).toBe(d.diffId);
    expect(d.members!.members.reduce((n, m) => n + m.size, 0)).toBe(tar.length);
  });

  it('without an index hashes no member, and writes the same blob', async () => {
    const { d, blob } = await diff();
    const sink = memorySink();
    const bare = await diffUpperToLayer(tree, sink, { compression: 'gzip', sourceDateEpoch: 1_000_000, index: false });
    expect(sink.bytes().equals(blob)).toBe(true);
    expect([bare.digest, bare.diffId]).toEqual([d.digest, d.diffId]);
    expect(bare.members).toBeUndefined();
  });

  it('without the blob digest (the sink hashes), writes the same blob with the same diff ID', async () => {
    const { d, blob } = await diff();
    const sink = memorySink();
    const unhashed = await diffUpperToLayer(tree, sink, { compression: 'gzip', sourceDateEpoch: 1_000_000, blobDigest: false });
    expect(sink.bytes().equals(blob)).toBe(true);
    expect(d.digest).toBe(`sha256:${crypto.createHash('sha256').update(blob).digest('hex')}`);
    expect([unhashed.digest, unhashed.diffId, unhashed.size]).toEqual([undefined, d.diffId, blob.length]);
  });

  it('copies the members an edit left alone, giving the very bytes a fresh gzip gives', async () => {
    const first = await diff();
    fs.writeFileSync(path.join(tree, 'd17/f3'), crypto.randomBytes(4096));
    fs.utimesSync(path.join(tree, 'd17'), 1_000_000, 1_000_000);
    const fresh = await diff();
    const reused = await diff(from(first.blob, first.d));
    expect(reused.blob.equals(fresh.blob)).toBe(true);
    expect(reused.d.digest).toBe(fresh.d.digest);
    expect(reused.d.reusedMembers).toBe(first.d.members!.members.length - 1);
  });

  it('compresses again what a damaged blob or another zlib would give', async () => {
    const first = await diff();
    const damaged = Buffer.from(first.blob);
    damaged[damaged.length >> 1]! ^= 0xff;
    const viaDamaged = await diff(from(damaged, first.d));
    expect(viaDamaged.blob.equals(first.blob)).toBe(true);
    expect(viaDamaged.d.reusedMembers).toBe(first.d.members!.members.length - 1);
    const otherZlib = await diff({ index: { ...first.d.members!, zlib: 'other' }, read: async (o, n) => first.blob.subarray(o, o + n) });
    expect(otherZlib.d.reusedMembers).toBe(0);
    expect(otherZlib.blob.equals(first.blob)).toBe(true);
  });

  it("writes stored members byte for byte as zlib's level 0 does, at every block boundary", async () => {
    const FIRST = 65_521;
    const NEXT = 65_531;
    const sizes = [0, 1, FIRST - 1, FIRST, FIRST + 1, FIRST + NEXT, FIRST + NEXT + 1, FIRST + 2 * NEXT, 3_000_000, 4 << 20];
    for (let i = 0; i < 40; i++) sizes.push(crypto.randomInt(4 << 20));
    for (const n of sizes) {
      const bytes = crypto.randomBytes(n);
      const whole = zlib.gzipSync(bytes, STORED);
      expect(Buffer.concat(gzipStored([bytes])!).equals(whole), `${n} bytes`).toBe(true);
      // As read: in parts of any length, block boundaries falling anywhere within them.
      const cuts = [...new Set(Array.from({ length: 5 }, () => crypto.randomInt(n + 1)))].sort((a, b) => a - b);
      const parts = [0, ...cuts, n].slice(1).map((end, i, ends) => bytes.subarray(i === 0 ? 0 : ends[i - 1], end));
      const pieces = gzipStored(parts)!;
      expect(Buffer.concat(pieces).equals(whole), `${n} bytes in ${parts.length} parts`).toBe(true);
      // Slices of the parts, not copies of them.
      if (n >= 8192) expect(pieces.some((p) => p.buffer === bytes.buffer)).toBe(true);
    }
  });

  it('stores members that do not shrink, and compresses the rest, as one readable stream', async () => {
    const random = crypto.randomBytes(1 << 20);
    const text = Buffer.from('a line of text that repeats, as logs and sources do\n'.repeat(20_000));
    // Random at the start but text elsewhere: the probe's other windows keep it compressed.
    const mixed = Buffer.concat([random.subarray(0, 64 << 10), text]);
    expect([random, text, mixed].map((b) => looksIncompressible([b]))).toEqual([true, false, false]);
    // Probe windows across the parts a file was read in judge the same.
    const split = (b: Buffer) => [b.subarray(0, 70_001), b.subarray(70_001, 400_003), b.subarray(400_003)];
    expect([random, text, mixed].map((b) => looksIncompressible(split(b)))).toEqual([true, false, false]);
    const out: Buffer[] = [];
    const w = new MemberWriter(async (pieces) => void out.push(Buffer.concat(pieces)), 1);
    for (const m of [random, text, mixed]) await w.add(split(m));
    const index = await w.finish();
    // Level 1 would also fall back to stored blocks for random bytes, but only after deflating them: other bytes.
    const gzip = promisify(zlib.gzip);
    expect(out[0]!.equals(await gzip(random, STORED))).toBe(true);
    expect(out[0]!.equals(await gzip(random, { level: 1 }))).toBe(false);
    expect(out[1]!.equals(await gzip(text, { level: 1 }))).toBe(true);
    expect(index.members[1]!.gzSize).toBeLessThan(text.length / 10);
    expect(index.members[2]!.gzSize).toBeLessThan((64 << 10) + text.length / 10);
    expect(zlib.gunzipSync(Buffer.concat(out)).equals(Buffer.concat([random, text, mixed]))).toBe(true);
  });

  it('gives a big file a member of its own, so random bytes beside text are stored and the text still shrinks', async () => {
    const mixedTree = path.join(tmp.dir, 'mixed');
    fs.mkdirSync(mixedTree);
    const line = 'text beside a big random file\n';
    fs.writeFileSync(path.join(mixedTree, 'a.txt'), line.repeat(2000));
    fs.writeFileSync(path.join(mixedTree, 'big.bin'), crypto.randomBytes(1 << 20));
    fs.writeFileSync(path.join(mixedTree, 'c.txt'), line.repeat(2000));
    const sink = memorySink();
    const d = await diffUpperToLayer(mixedTree, sink, { compression: 'gzip', sourceDateEpoch: 1_000_000 });
    const sizes = d.members!.members.map((m) => m.size);
    // The big file's header and bytes, exactly: no text before or after it in that member.
    expect(sizes).toContain(512 + (1 << 20));
    const big = d.members!.members[sizes.indexOf(512 + (1 << 20))]!;
    expect(big.gzSize).toBeLessThan(big.size + 1024);
    const rest = d.members!.members.filter((m) => m !== big);
    expect(rest.reduce((n, m) => n + m.gzSize, 0)).toBeLessThan(rest.reduce((n, m) => n + m.size, 0) / 5);
    expect(zlib.gunzipSync(sink.bytes()).length).toBe(d.members!.members.reduce((n, m) => n + m.size, 0));
  });

  it('replays members of trusted files from the previous blob without reading them, and falls back where a header differs', async () => {
    const first = await diff();
    expect(first.d.members!.members.every((m) => m.first !== undefined)).toBe(true);
    const all = new Set<string>();
    for (let d = 0; d < 30; d++) for (let f = 0; f < 50; f++) all.add(`d${d}/f${f}`);
    // An edited file is not trusted (a COPY copies it); a trusted one whose mode changed shows in its header.
    fs.writeFileSync(path.join(tree, 'd23/f7'), crypto.randomBytes(4096));
    fs.chmodSync(path.join(tree, 'd5/f1'), 0o600);
    for (const d of ['d23', 'd5']) fs.utimesSync(path.join(tree, d), 1_000_000, 1_000_000);
    // As a COPY hands them over: each moved file's lstat, taken after any change to it.
    const trusted = new Map([...all].filter((p) => p !== 'd23/f7').map((p) => [p, fs.lstatSync(path.join(tree, p), { bigint: true })]));
    const fresh = await diff();
    const replayed = await diff(from(first.blob, first.d), trusted);
    expect(replayed.blob.equals(fresh.blob)).toBe(true);
    expect(replayed.d.diffId).toBe(fresh.d.diffId);
    const n = first.d.members!.members.length;
    // Two members hold a change; the last also holds the archive's end, which is never replayed.
    expect(replayed.d.replayedMembers).toBe(n - 3);
    expect(replayed.d.reusedMembers).toBe(n - 2);
    expect(replayed.d.members).toEqual(fresh.d.members);
    // A damaged previous blob: that member's files are read after all.
    const damaged = Buffer.from(first.blob);
    damaged[damaged.length >> 1]! ^= 0xff;
    const viaDamaged = await diff(from(damaged, first.d), trusted);
    expect(viaDamaged.blob.equals(fresh.blob)).toBe(true);
    expect(viaDamaged.d.replayedMembers).toBe(n - 4);
  });
});
