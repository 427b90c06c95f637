// The repo runs TypeScript from source; micro benchmarks bundle the package entry they measure
// with esbuild (like packages/context/bench/hash-bench.mjs) so no build step is needed.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Bundles packages/<pkg>/src/index.ts and imports it. */
export async function importPackage(pkg) {
  // Inside the package's node_modules (ignored by git) so its native dependencies resolve.
  const out = path.join(repo, 'packages', pkg, 'node_modules/.cache', `tbuild-bench-${process.pid}.mjs`);
  await build({
    entryPoints: [path.join(repo, 'packages', pkg, 'src/index.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: out,
    conditions: ['tbuild-source'],
    external: ['@napi-rs/xattr'],
    banner: { js: "import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);" },
    logLevel: 'error',
  });
  try {
    return await import(pathToFileURL(out).href);
  } finally {
    fs.rmSync(out, { force: true });
  }
}

/** Best-of-n wall time of `fn` in ms (the least disturbed run; other work shares these cores). */
export async function bestOf(n, fn) {
  let best = Infinity;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}
