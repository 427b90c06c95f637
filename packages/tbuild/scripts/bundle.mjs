#!/usr/bin/env node
// Bundles the CLI and every workspace package into one ESM file: one file to load keeps the
// CLI's cold start small (no module resolution across dozens of files at every invocation).
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = path.resolve(here, '..');
await build({
  entryPoints: [path.join(pkg, 'src/cli/main.ts')],
  outfile: path.join(pkg, 'dist/tbuild.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  conditions: ['tbuild-source'],
  sourcemap: 'linked',
  // A native addon cannot live inside a bundle: it is loaded from node_modules at run time.
  external: ['@napi-rs/xattr'],
  logLevel: 'warning',
  // CommonJS dependencies (tar-stream) call require(): give the ESM bundle one.
  banner: { js: "import { createRequire as __tbuildRequire } from 'node:module'; const require = __tbuildRequire(import.meta.url);" },
});
