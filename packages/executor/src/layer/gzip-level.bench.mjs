// Measures gzip throughput and ratio at levels 1, 6 and 9 on a layer-like corpus (a busybox
// binary, text, and already-compressed bytes), to choose DiffOptions.level's default.
// Run: node packages/executor/src/layer/gzip-level.bench.mjs
import crypto from 'node:crypto';
import fs from 'node:fs';
import zlib from 'node:zlib';

const parts = [];
if (fs.existsSync('/bin/busybox')) parts.push(fs.readFileSync('/bin/busybox'));
for (const f of ['/usr/share/common-licenses/GPL-3', '/etc/services', '/usr/share/perl5/Debconf/Config.pm']) {
  if (fs.existsSync(f)) parts.push(fs.readFileSync(f));
}
// Real source text: the workspace's own node_modules, as an npm-install RUN would produce.
let textBytes = 0;
const walk = (dir) => {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (textBytes > 12 << 20) return;
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) walk(p);
    else if (e.isFile() && /\.(js|mjs|cjs|json|ts|md)$/.test(e.name)) {
      const b = fs.readFileSync(p);
      parts.push(b);
      textBytes += b.length;
    }
  }
};
if (fs.existsSync('node_modules/.pnpm')) walk('node_modules/.pnpm');
parts.push(crypto.randomBytes(4 << 20)); // media / compressed archives in a layer
const corpus = Buffer.concat(parts);

for (const level of [1, 6, 9]) {
  const t0 = process.hrtime.bigint();
  let out;
  for (let i = 0; i < 3; i++) out = zlib.gzipSync(corpus, { level });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9 / 3;
  console.log(
    `level ${level}: ${(corpus.length / secs / 1e6).toFixed(0)} MB/s, ratio ${(out.length / corpus.length).toFixed(3)} (${corpus.length} → ${out.length} bytes)`,
  );
}
