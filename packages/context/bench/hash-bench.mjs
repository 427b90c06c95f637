// Cold vs warm hash of a generated context (default 20,000 files, ~80 MB).
// Usage: node packages/context/bench/hash-bench.mjs [files] [dir]
// Bundles src/ with esbuild (the repo runs TypeScript from source), so no build step is needed.
import { build } from 'esbuild';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const files = Number(process.argv[2] ?? 20000);
const dir = process.argv[3] ?? path.join(os.tmpdir(), `tb-ctx-bench-${files}`);
const out = path.join(os.tmpdir(), 'tb-context-bench.mjs');
await build({
  entryPoints: [path.join(here, '../src/index.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  outfile: out,
  conditions: ['tbuild-source'],
  logLevel: 'error',
});
const { BuildContext, IgnoreMatcher, parseDockerignore } = await import(pathToFileURL(out).href);

if (!fs.existsSync(path.join(dir, '.done'))) {
  fs.rmSync(dir, { recursive: true, force: true });
  for (let i = 0; i < files; i++) {
    const d = path.join(dir, `pkg${i % 20}`, `mod${Math.floor(i / 20) % 20}`);
    fs.mkdirSync(d, { recursive: true });
    const buf = Buffer.alloc(4000, i % 251);
    buf.writeUInt32LE(i, 0);
    fs.writeFileSync(path.join(d, `file${i}.txt`), buf);
  }
  fs.mkdirSync(path.join(dir, 'node_modules/x'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'node_modules/x/big'), Buffer.alloc(50 << 20));
  fs.writeFileSync(path.join(dir, '.dockerignore'), 'node_modules\n');
  fs.writeFileSync(path.join(dir, '.done'), '');
  await new Promise((r) => setTimeout(r, 300)); // leave the racy window
}

let saved;
const persistence = { load: async () => saved, save: async (b) => void (saved = b) };
const ignore = new IgnoreMatcher(parseDockerignore('node_modules\n'));
const sel = { sources: ['.'], excludes: [], parents: false };

for (const label of ['cold', 'warm', 'warm']) {
  const t0 = performance.now();
  const ctx = await BuildContext.open(dir, { ignore, statCache: persistence });
  const t1 = performance.now();
  await ctx.select(sel);
  const t2 = performance.now();
  const d = await ctx.hash(sel);
  const t3 = performance.now();
  await ctx.close();
  const t4 = performance.now();
  const f = (a, b) => (b - a).toFixed(0);
  console.log(
    `${label}: ${f(t0, t4)} ms (open ${f(t0, t1)}, select ${f(t1, t2)}, hash ${f(t2, t3)}, close ${f(t3, t4)})  ` +
      `${d.files.length} entries  ${JSON.stringify(ctx.stats)}  cache ${(saved?.length ?? 0) >> 10} KiB`,
  );
}
