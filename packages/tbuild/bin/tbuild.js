#!/usr/bin/env node
'use strict';
// CommonJS (bin/package.json): an ES module entry costs every start the ES module loader (~5 ms).
const fs = require('node:fs');
const { createRequire } = require('node:module');
const path = require('node:path');
const vm = require('node:vm');
const { isBuildCommand, runViaServer } = require('./server-client.js');

const bundle = path.join(__dirname, '../dist/tbuild.cjs');
// The code cache's first byte: made by a build run, or by another command.
const TAG_BUILD = 0x62; // 'b'
const TAG_OTHER = 0x6f; // 'o'
// The tag is padded to 8 bytes: V8 copies cached data that is not pointer-aligned (1.4 MB, and
// each new page touched is ~15 us on a VM where page faults trap to the hypervisor).
const HEADER = 8;
const argv = process.argv.slice(2);
// A build server for the store (`tbuild server start`) runs builds already warmed up.
let finished = false;
// Node exits when nothing is left to wait for, with code 0. If the command has not finished
// then, it was waiting on something that can never come: a tbuild bug, never a success.
process.once('beforeExit', () => {
  if (finished) return;
  process.stderr.write('internal error: this is a tbuild bug, please report it\ntbuild stopped before the command finished: nothing was left to wait for\n');
  process.exitCode = 70;
});
void (async () => {
  process.exitCode = (await runViaServer(argv, bundle)) ?? (await runHere());
  finished = true;
})();

async function runHere() {
  const startedHelper = takeStartedSysHelper();
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
  // V8 caches the functions a run compiled; a run of `tbuild pull` or `version` leaves out
  // most of what a build needs (a warm `nodeapp` build: 157 ms with such a cache, 139 ms with
  // one a build made). So the cache's first byte says whether a build made it, and the first
  // build after any other command writes it again, compiling from scratch: what it loaded from
  // the other command's cache would be in the one it writes (`pull`'s 0.86 MB).
  const building = isBuild(argv);
  let cachedData;
  let byBuild = false;
  try {
    const file = fs.readFileSync(cacheFile);
    if ((file[0] === TAG_BUILD || file[0] === TAG_OTHER) && file.length > HEADER) {
      byBuild = file[0] === TAG_BUILD;
      if (byBuild || !building) cachedData = file.subarray(HEADER);
    }
  } catch {}
  // The bundle is one function expression already (scripts/bundle.mjs): wrapping it here would
  // make V8 copy the 1.4 MB source once more to flatten the concatenation.
  const script = new vm.Script(source, {
    filename: bundle,
    cachedData,
    importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, createRequire(bundle), mod, bundle, path.dirname(bundle));
  // A build here is this process's only one; a build server (`server run`) keeps what its builds read.
  if (building) mod.exports.buildsOnce?.();
  // Built beside the bundle where a C compiler was (scripts/bundle.mjs). TBUILD_NO_CONTEXT_SCAN
  // reads contexts through Node.js only, to compare.
  if (!process.env.TBUILD_NO_CONTEXT_SCAN) mod.exports.useContextScanner?.(path.join(path.dirname(bundle), 'tbuild-scan'));
  mod.exports.useNativeSysHelper?.(path.join(path.dirname(bundle), 'tbuild-sys'));
  if (startedHelper) mod.exports.useStartedSysHelper?.(startedHelper);
  const writeCache = cachedData === undefined || script.cachedDataRejected || (building && !byBuild);
  // A build that runs steps has the cache taken as its first step starts (src/cli/code-cache.ts).
  let taken;
  if (writeCache && building) mod.exports.takeCodeCacheAtFirstStep?.(() => (taken = script.createCachedData()));
  const exitCode = await mod.exports.main(argv);
  if (writeCache) {
    // After the run, so the functions it compiled are in the cache too. Renamed into place:
    // concurrent first runs never read a half-written cache.
    try {
      const tmp = `${cacheFile}.${process.pid}`;
      const header = Buffer.alloc(HEADER);
      header[0] = building ? TAG_BUILD : TAG_OTHER;
      fs.writeFileSync(tmp, Buffer.concat([header, taken ?? script.createCachedData()]));
      fs.renameSync(tmp, cacheFile);
    } catch {}
  }
  return exitCode;
}

/**
 * The tbuild-sys the thin client started for this build (native/client.c): its pid and the
 * pipes it handed down. They are opened again through /proc, close-on-exec as every descriptor
 * Node.js opens, and the inherited ones closed: otherwise every program tbuild starts would hold
 * the helper's stdin open, and the helper would outlive tbuild.
 */
function takeStartedSysHelper() {
  const spec = process.env.TBUILD_SYS_HELPER;
  if (spec === undefined) return undefined;
  delete process.env.TBUILD_SYS_HELPER;
  const [pid, requests, replies] = spec.split(':').map(Number);
  if (![pid, requests, replies].every((n) => Number.isInteger(n) && n > 0)) return undefined;
  const opened = [];
  try {
    opened.push(fs.openSync(`/proc/self/fd/${requests}`, fs.constants.O_WRONLY));
    opened.push(fs.openSync(`/proc/self/fd/${replies}`, fs.constants.O_RDONLY));
    return { pid, requests: opened[0], replies: opened[1] };
  } catch {
    for (const fd of opened) fs.closeSync(fd);
    return undefined;
  } finally {
    for (const fd of [requests, replies]) {
      try {
        fs.closeSync(fd);
      } catch {}
    }
  }
}

/** A build or a bake, as the server routes builds; `build --help` compiles none of a build's code. */
function isBuild(args) {
  if (args.includes('--help') || args.includes('-h')) return false;
  return args[0] === 'bake' || isBuildCommand(args);
}
