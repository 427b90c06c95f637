#!/usr/bin/env node
// Bundles the CLI and every workspace package into one file: one file to load keeps the CLI's
// cold start small (no module resolution across dozens of files at every invocation).
//
// CommonJS, not ESM: bin/tbuild.js compiles it with node:vm and keeps V8's code cache next to
// it, which Node 20 offers for scripts but not for ES modules. Compiling the ~1 MB bundle was
// the largest part of `tbuild version` (0.14 s CPU without the cache, 0.10 s with it).
import { spawnSync } from 'node:child_process';
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = path.resolve(here, '..');
await build({
  entryPoints: [path.join(pkg, 'src/cli/main.ts')],
  outfile: path.join(pkg, 'dist/tbuild.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  conditions: ['tbuild-source'],
  sourcemap: 'linked',
  // A native addon cannot live inside a bundle: it is loaded from node_modules at run time.
  external: ['@napi-rs/xattr'],
  // A node:vm script has no loader for import(): lazy `import('node:http')` becomes a require.
  supported: { 'dynamic-import': false },
  // ASCII (esbuild escapes the rest), so bin/tbuild.js can read it as latin1: no UTF-8 decoding.
  charset: 'ascii',
  logLevel: 'warning',
});
// esbuild wraps every `import x from 'node:fs'` in __toESM, which copies the module's ~100
// properties into a fresh object: 145 copies of a dozen builtins, 4-7 ms of every start. The
// copies are read-only views, so one per module serves every importer (globalThis.WeakMap: a
// bundled library hoists its own `var WeakMap` over this scope). Same line, so the
// source map still lines up; a bundle without the helper is left as it is.
const out = path.join(pkg, 'dist/tbuild.cjs');
let code = fs.readFileSync(out, 'utf8');
const helper = 'var __toESM = (mod, isNodeMode, target) =>';
if (code.includes(helper)) {
  const memo =
    'var __toESMMemo = new globalThis.WeakMap(), __toESM = (mod, isNodeMode) => { if (mod == null || (typeof mod !== "object" && typeof mod !== "function")) return __toESMCopy(mod, isNodeMode); ' +
    'let m = __toESMMemo.get(mod); if (!m) __toESMMemo.set(mod, (m = [])); const k = isNodeMode ? 1 : 0; return (m[k] ??= __toESMCopy(mod, isNodeMode)); }, __toESMCopy = (mod, isNodeMode, target) =>';
  code = code.replace(helper, memo);
}
// Modules a warm build never uses are loaded on first use, not when the bundle starts: each
// importer gets a stand-in that requires the module when a property is first read. Loading
// them all at start was ~6% of a warm build (child_process brings net and dgram; worker_threads
// and zlib their own; the xattr addon a dlopen). fs/promises (~6 ms with fs's streams) is one
// since a warm build reads synchronously; net serves the helper's socket and `server`; v8
// (~4.5 ms with heap_utils and promise_hooks) only the build server's `--expose-gc`. An
// importer must not read them at load time (so no top-level `promisify(execFile)`);
// test/e2e/lazy-modules.test.ts checks a warm build.
const LAZY = ['node:child_process', 'node:zlib', 'node:worker_threads', '@napi-rs/xattr', 'node:fs/promises', 'node:net', 'node:v8'];
const lazyRequire =
  'var __lazyRequire = (id, esm) => { let m; const load = () => (m ??= require(id)); ' +
  'return new Proxy({}, { get: (_, k) => (esm && k === "default" ? load() : load()[k]), has: (_, k) => k in load() }); };';
const ids = LAZY.map((id) => id.replace(/[/.]/g, '\\$&')).join('|');
let lazied = 0;
code = code.replace(new RegExp(`(import_\\w+ = )(__toESM\\()?require\\("(${ids})"\\)(?:, 1\\))?`, 'g'), (_, lhs, esm, id) => {
  lazied++;
  return `${lhs}__lazyRequire("${id}", ${esm ? 1 : 0})`;
});
// On the first line, after "use strict": every later line stays where the source map has it.
if (lazied > 0) code = code.replace(/^"use strict";/, `"use strict";${lazyRequire}`);
// What the store keeps for one build of tbuild only is named by this hash (src/api/code-id.ts).
// Same length as the placeholder, so the source map still lines up.
const placeholder = '"@@TBUILD_CODE_ID@@"';
if (code.split(placeholder).length !== 2) throw new Error(`${out}: expected the code id placeholder exactly once`);
const codeId = createHash('sha256').update(code).digest('hex').slice(0, placeholder.length - 2);
code = code.replace(placeholder, `"${codeId}"`);
if (/[^\x00-\x7f]/.test(code)) throw new Error(`${out} is not ASCII: bin/tbuild.js reads it as latin1`);
// The file is the function that CommonJS would wrap the module in, so bin/tbuild.js compiles it
// as read: a wrapper added there is a concatenation V8 flattens, one more copy of the source.
// On the first line, before "use strict": every later line stays where the source map has it.
code = `(function (exports, require, module, __filename, __dirname) {${code}\n})`;
fs.writeFileSync(out, code);
// A code cache for the previous bundle would only be rejected; drop it (and the old ESM bundle).
for (const f of ['dist/tbuild.cjs.v8cache', 'dist/tbuild.mjs', 'dist/tbuild.mjs.map']) fs.rmSync(path.join(pkg, f), { force: true });

// The native helpers, where a C compiler is. Without one there are none, and Node.js does their
// work, as before:
// - the thin client for the build server (native/client.c): a build sent to a server then
//   starts no Node.js;
// - the context scanner (@tbuild/context's native/scan.c): lists and lstats a large build
//   context in one process;
// - the sys helper (@tbuild/executor's native/sys.c): mounts, unmounts, sets nanosecond
//   times and starts runc for a build.
const helpers = [
  { out: 'dist/tbuild-client', src: path.join(pkg, 'native/client.c'), without: 'builds through a server start Node.js' },
  { out: 'dist/tbuild-scan', src: path.join(pkg, '../context/native/scan.c'), without: 'build contexts are read by Node.js alone' },
  { out: 'dist/tbuild-sys', src: path.join(pkg, '../executor/native/sys.c'), without: 'the sys helper is python3, slower to start' },
];
for (const { out: bin, src, without } of helpers) {
  const target = path.join(pkg, bin);
  const tmp = `${target}.${process.pid}`;
  const cc = spawnSync('cc', ['-O2', '-Wall', '-o', tmp, src], { encoding: 'utf8' });
  if (cc.status === 0) fs.renameSync(tmp, target);
  else {
    fs.rmSync(tmp, { force: true });
    fs.rmSync(target, { force: true });
    console.warn(`note: no ${bin} (${cc.error ? 'no C compiler: install gcc and libc6-dev' : cc.stderr.trim()}); ${without}`);
  }
}
