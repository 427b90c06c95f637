#!/usr/bin/env node
// "Fresh runner with remote cache" (issue 10): a CI job on an empty machine that imports the
// cache a previous job exported to a registry, tbuild against BuildKit.
//
//   node bench/remote-cache.mjs [--runs N] [--workloads parallel,bigctx,stacked,nodeapp]
//                               [--builders tbuild,buildkit] [--out FILE] [--work DIR]
//
// For each workload, one untimed build exports the cache to a loopback registry; then each timed
// run starts from an empty build cache (only the base image present, as on a fresh runner) and
// builds with the cache imported. The output image is checked before times count.
// tbuild is measured twice: registry cache mode=max, and inline cache (what BuildKit gets here:
// Debian's dockerd 20.10 has no buildx, so BuildKit's only registry cache is inline, min mode).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TBUILD_BIN } from './lib/builders.mjs';
import { run } from './lib/proc.mjs';
import { pushBaseImage, startDockerd, startRegistry } from './lib/services.mjs';
import { median } from './lib/stats.mjs';
import { verifyImage } from './lib/verify.mjs';
import { resetEdits, workloads } from './lib/workloads.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const log = (...a) => console.error(...a);

function parseFlags(argv) {
  const o = { runs: 3, work: '/tmp/tbb-rc', out: path.join(here, 'results/remote-cache.json') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--runs') o.runs = Number(val());
    else if (a === '--workloads') o.workloads = val().split(',');
    else if (a === '--builders') o.builders = val().split(',');
    else if (a === '--out') o.out = path.resolve(val());
    else if (a === '--work') o.work = path.resolve(val());
    else throw new Error(`unknown flag ${a}`);
  }
  return o;
}

/** tbuild on a "fresh runner": a store holding only the base image, the cache imported with `cacheFrom`. */
function tbuildVariant(name, work, base, exportArgs, importArgs) {
  const root = path.join(work, `store-${name}`);
  const cli = (args) => run(process.execPath, [TBUILD_BIN, ...args]);
  const fresh = async () => {
    fs.rmSync(root, { recursive: true, force: true });
    await cli(['pull', '--root', root, base]);
  };
  return {
    name,
    async exportCache(w, ref) {
      await fresh();
      await cli(['build', '--root', root, '-q', '-t', ref(w, name), ...exportArgs(w, ref(w, name)), w.dir]);
    },
    fresh,
    build: (w, ref) => cli(['build', '--root', root, '-q', '--metadata-file', path.join(work, `meta-${name}.json`), '-t', `bench/${w.name}:rc`, ...importArgs(ref(w, name)), w.dir]),
    // A fully cached import runs nothing: anything else means the cache did not serve.
    executed: () => JSON.parse(fs.readFileSync(path.join(work, `meta-${name}.json`), 'utf8'))['tbuild.summary'].executed,
    save: (w, file) => cli(['save', '--root', root, '-o', file, `bench/${w.name}:rc`]),
    teardown: async () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

/** BuildKit inside dockerd: inline cache pushed with the image, imported with --cache-from. */
async function buildkitVariant(work, base, registry) {
  const d = await startDockerd(path.join(work, 'd'), registry);
  await d.docker(['pull', '-q', base]);
  const fresh = async () => {
    const imgs = (await d.docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout.split('\n').filter((r) => r && r !== base);
    if (imgs.length) await d.docker(['rmi', '-f', ...imgs], { check: false });
    await d.docker(['builder', 'prune', '-af']);
  };
  return {
    name: 'buildkit-inline',
    async exportCache(w, ref) {
      await fresh();
      await d.docker(['build', '--network', 'none', '-q', '--build-arg', 'BUILDKIT_INLINE_CACHE=1', '-t', ref(w, 'buildkit'), w.dir]);
      await d.docker(['push', '-q', ref(w, 'buildkit')]);
    },
    fresh,
    build: (w, ref) => d.docker(['build', '--network', 'none', '-q', '--cache-from', ref(w, 'buildkit'), '-t', `bench/${w.name}:rc`, w.dir]),
    save: (w, file) => d.docker(['save', '-o', file, `bench/${w.name}:rc`]),
    teardown: () => d.stop(),
  };
}

async function main() {
  const o = parseFlags(process.argv.slice(2));
  await run(process.execPath, [path.join(repo, 'packages/tbuild/scripts/bundle.mjs')]);
  fs.mkdirSync(o.work, { recursive: true });
  const registry = await startRegistry(path.join(o.work, 'registry'));
  const result = { started: new Date().toISOString(), options: o, rows: [] };
  try {
    const base = await pushBaseImage(registry.host, o.work);
    let ws = workloads(path.join(o.work, 'ctx'), base);
    if (o.workloads) ws = ws.filter((w) => o.workloads.includes(w.name));
    resetEdits(ws);
    const ref = (w, variant) => `${registry.host}/cache/${w.name}:${variant}`;
    const want = (n) => !o.builders || o.builders.some((b) => n.startsWith(b));
    const variants = [
      tbuildVariant('tbuild-max', o.work, base, (_w, r) => ['--cache-to', `type=registry,ref=${r}-cache,mode=max`], (r) => ['--cache-from', `type=registry,ref=${r}-cache`]),
      tbuildVariant('tbuild-inline', o.work, base, () => ['--push', '--cache-to', 'type=inline'], (r) => ['--cache-from', r]),
    ].filter((v) => want(v.name));
    if (want('buildkit') && process.getuid?.() === 0 && fs.existsSync('/usr/sbin/dockerd')) variants.push(await buildkitVariant(o.work, base, registry.host));
    try {
      for (const w of ws) {
        const row = { workload: w.name, scenario: 'fresh runner + remote cache', builders: {} };
        for (const v of variants) {
          await v.exportCache(w, ref);
          const runs = [];
          for (let i = 0; i < o.runs; i++) {
            await v.fresh();
            runs.push((await v.build(w, ref)).ms);
            log(`  ${v.name.padEnd(16)} ${w.name.padEnd(8)} #${i + 1}: ${(runs.at(-1) / 1000).toFixed(2)}s`);
          }
          const problems = await verifyImage((file) => v.save(w, file), w.expect(0), path.join(o.work, 'verify'));
          if (problems.length) throw new Error(`${v.name} ${w.name}: wrong image:\n  ${problems.join('\n  ')}`);
          if (v.executed && v.executed() !== 0) throw new Error(`${v.name} ${w.name}: ${v.executed()} steps ran despite the imported cache`);
          row.builders[v.name] = { runs, median: median(runs) };
        }
        result.rows.push(row);
      }
    } finally {
      for (const v of variants) await v.teardown();
    }
  } finally {
    await registry.stop();
  }
  const names = [...new Set(result.rows.flatMap((r) => Object.keys(r.builders)))];
  console.log(`\nFresh runner with remote cache: median wall time (${o.runs} runs)\n`);
  console.log(['workload', ...names, ...(names.includes('buildkit-inline') ? names.filter((n) => n.startsWith('tbuild')).map((n) => `${n}/bk`) : [])].join('\t'));
  for (const r of result.rows) {
    const bk = r.builders['buildkit-inline']?.median;
    const cells = names.map((n) => (r.builders[n] ? `${(r.builders[n].median / 1000).toFixed(2)}s` : '-'));
    const ratios = bk ? names.filter((n) => n.startsWith('tbuild')).map((n) => (r.builders[n] ? (r.builders[n].median / bk).toFixed(2) : '-')) : [];
    console.log([r.workload, ...cells, ...ratios].join('\t'));
  }
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(o.out, JSON.stringify(result, null, 2) + '\n');
  console.log(`\nwrote ${path.relative(process.cwd(), o.out)}`);
}

main().catch((e) => {
  console.error(e?.stack ?? String(e));
  process.exit(1);
});
