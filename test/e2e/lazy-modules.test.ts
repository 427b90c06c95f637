import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tbuild } from '../support/cli.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';
import { seededStore } from '../support/seed.ts';

// The bundle loads these on first use (scripts/bundle.mjs): a module that reads one of them
// when it loads (a top-level `promisify(execFile)`) would load it in every run again.
// fs/promises also comes in with process.stdin when that is a file (made only when read,
// cli/main.ts), perf_hooks with the `performance` global.
const LAZY_BUILTINS = ['child_process', 'zlib', 'worker_threads', 'fs/promises', 'internal/fs/promises', 'perf_hooks', 'v8'];

// Preloaded into the CLI's process: what it loaded and which fs/promises functions it called,
// written when it exits. fs/promises is wrapped as the CLI first requires it, so that loading
// it still shows; the bundle reads its properties at each call.
const PROBE = `
const fs = require('node:fs');
const Module = require('node:module');
const addons = [];
const fsAsync = [];
const dlopen = process.dlopen;
process.dlopen = function (module, filename, ...rest) { addons.push(filename); return dlopen.call(this, module, filename, ...rest); };
const load = Module._load;
let wrapped = false;
Module._load = function (request, ...rest) {
  const mod = load.call(this, request, ...rest);
  if (!wrapped && (request === 'node:fs/promises' || request === 'fs/promises')) {
    wrapped = true;
    for (const [name, fn] of Object.entries(mod)) {
      if (typeof fn === 'function') mod[name] = function (...args) { fsAsync.push(name); return fn.apply(this, args); };
    }
  }
  return mod;
};
process.on('exit', () => fs.writeFileSync(process.env.TBUILD_TEST_PROBE_OUT, JSON.stringify({ builtins: process.moduleLoadList, addons, fsAsync })));
`;

describe.skipIf(!isRoot)(`what a build loads (${NEEDS_ROOT})`, () => {
  const work = tempDir('tbuild-lazy-');
  const ctx = path.join(work.dir, 'ctx');
  const probe = path.join(work.dir, 'probe.cjs');
  let root: string;
  let cleanupStore: () => void;

  beforeAll(async () => {
    const s = await seededStore();
    root = s.root;
    cleanupStore = s.cleanup;
    fs.mkdirSync(ctx);
    fs.writeFileSync(probe, PROBE);
    fs.writeFileSync(path.join(ctx, 'app.txt'), 'app\n');
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM busybox\nCOPY app.txt /app/\nRUN cat /app/app.txt > /app/copy\n');
  });
  afterAll(() => {
    cleanupStore?.();
    work.cleanup();
  });

  const loads = async (): Promise<{ builtins: string[]; addons: string[]; fsAsync: string[] }> => {
    const out = path.join(work.dir, 'loaded.json');
    fs.rmSync(out, { force: true });
    const r = await tbuild(['build', '--root', root, '--network', 'none', '-q', ctx], {
      env: { NODE_OPTIONS: `--require=${probe}`, TBUILD_TEST_PROBE_OUT: out, TBUILD_NO_SERVER: '1' },
      input: 'devNull',
    });
    expect(r.code, r.stderr).toBe(0);
    const seen = JSON.parse(fs.readFileSync(out, 'utf8')) as { builtins: string[]; addons: string[]; fsAsync: string[] };
    return { builtins: seen.builtins.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length)), addons: seen.addons, fsAsync: seen.fsAsync };
  };

  it('loads child_process, zlib, worker_threads, fs/promises and the xattr addon only when a step runs', async () => {
    const cold = await loads();
    // The probe sees them when they are used: the RUN step starts runc, its layer is gzipped,
    // and the store's writes go through fs/promises.
    expect(cold.builtins).toEqual(expect.arrayContaining(['child_process', 'zlib', 'fs/promises']));
    expect(cold.fsAsync.length).toBeGreaterThan(0);

    // The second build may still record, in the stat cache, files the first found too fresh to
    // trust (a write); the third changes nothing.
    await loads();
    const warm = await loads();
    expect(warm.builtins.filter((m) => LAZY_BUILTINS.includes(m))).toEqual([]);
    expect(warm.addons.filter((a) => a.includes('xattr'))).toEqual([]);
    // Each asynchronous fs call is a trip through Node.js's thread pool (~0.1-0.2 ms here); a
    // warm build's dozens of small reads in a row (step records, refs, blob stats) were ~7% of
    // it. So the store, the Dockerfile and the context are read synchronously.
    expect(warm.fsAsync).toEqual([]);
  });
});
