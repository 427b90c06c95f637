#!/usr/bin/env node
'use strict';
// CommonJS (bin/package.json): an ES module entry costs every start the ES module loader (~5 ms).
const fs = require('node:fs');
const { createRequire } = require('node:module');
const path = require('node:path');
const vm = require('node:vm');
const { runViaServer } = require('./server-client.js');

const bundle = path.join(__dirname, '../dist/tbuild.cjs');
const argv = process.argv.slice(2);
// A build server for the store (`tbuild server start`) runs builds already warmed up.
void (async () => {
  process.exitCode = (await runViaServer(argv, bundle)) ?? (await runHere());
})();

async function runHere() {
  // Loads the CommonJS bundle through node:vm so V8's code cache can be kept beside it: later
  // starts skip compiling ~1 MB of JavaScript. A missing, stale or unwritable cache only costs
  // that compile; V8 rejects a cache that does not match the source or this node binary.
  const cacheFile = `${bundle}.v8cache`;
  let source;
  try {
    // ASCII by construction (scripts/bundle.mjs checks): latin1 skips UTF-8 decoding, 2-4 ms.
    source = fs.readFileSync(bundle, 'latin1');
  } catch {
    process.stderr.write('tbuild is not built yet: run `pnpm build` in the repository root\n');
    return 70;
  }
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {}
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: bundle,
    cachedData,
    importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, createRequire(bundle), mod, bundle, path.dirname(bundle));
  const exitCode = await mod.exports.main(argv);
  if (cachedData === undefined || script.cachedDataRejected) {
    // After the run, so the functions it compiled are in the cache too. Renamed into place:
    // concurrent first runs never read a half-written cache.
    try {
      const tmp = `${cacheFile}.${process.pid}`;
      fs.writeFileSync(tmp, script.createCachedData());
      fs.renameSync(tmp, cacheFile);
    } catch {}
  }
  return exitCode;
}
