// Layer tar+gzip throughput (diffUpperToLayer over the 20,000-file tree used as an upper dir,
// and over one 64 MB file) and unpack throughput (extractTar of the resulting blob into an
// overlay-format snapshot dir). Prints JSON on stdout.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { bestOf, importPackage } from './bundle.mjs';

const work = process.argv[2] ?? '/tmp/tbb';
const mode = process.argv[3] ?? 'full';
const { diffUpperToLayer } = await importPackage('executor');
const { extractTar } = await importPackage('cache');

const scratch = path.join(work, 'micro-layer');
fs.rmSync(scratch, { recursive: true, force: true });
fs.mkdirSync(scratch, { recursive: true });
const trees = [];
const many = path.join(work, 'ctx/bigctx');
if (fs.existsSync(path.join(many, 'data'))) trees.push({ name: 'manySmall', dir: many });
const big = path.join(scratch, 'big');
fs.mkdirSync(big);
// Half random, half repetitive: a binary next to text.
const half = 32 << 20;
fs.writeFileSync(path.join(big, 'blob'), Buffer.concat([crypto.randomBytes(half), Buffer.alloc(half, 'tbuild layer ')]));
trees.push({ name: 'oneLarge', dir: big });

const out = {};
const runs = mode === 'quick' ? 1 : 3;
for (const t of trees) {
  const blob = path.join(scratch, `${t.name}.tar.gz`);
  let diff;
  const packMs = await bestOf(runs, async () => {
    const fh = await fs.promises.open(blob, 'w');
    const sink = { write: (c) => fh.write(c).then(() => undefined) };
    diff = await diffUpperToLayer(t.dir, sink, { compression: 'gzip' });
    await fh.close();
  });
  const tarBytes = Number((await fs.promises.stat(blob)).size);
  const dest = path.join(scratch, `${t.name}-unpacked`);
  let stats;
  const unpackMs = await bestOf(runs, async () => {
    fs.rmSync(dest, { recursive: true, force: true });
    fs.mkdirSync(dest);
    stats = await extractTar(fs.createReadStream(blob), dest, { expectedDiffId: diff.diffId });
  });
  fs.rmSync(dest, { recursive: true, force: true });
  const raw = stats?.bytes ?? 0;
  const mb = (b, ms) => (b / 1e6 / (ms / 1000)).toFixed(0);
  out[`layer.${t.name}`] = {
    uncompressedBytes: raw,
    gzipBytes: tarBytes,
    packMs: Math.round(packMs),
    unpackMs: Math.round(unpackMs),
    packMBps: +mb(raw, packMs),
    unpackMBps: +mb(raw, unpackMs),
    summary: `${(raw / 1e6).toFixed(0)} MB tar: tar+gzip ${mb(raw, packMs)} MB/s (${packMs.toFixed(0)} ms), unpack ${mb(raw, unpackMs)} MB/s (${unpackMs.toFixed(0)} ms)`,
  };
}
fs.rmSync(scratch, { recursive: true, force: true });
console.log(JSON.stringify(out));
