#!/usr/bin/env node
// tbuild (alone, and with its build server) vs BuildKit vs Buildah on the same machine in the same run (issue 8).
//
//   node bench/run.mjs [--quick] [--runs N] [--cold-runs N] [--builders tbuild,tbuild-server,buildkit,buildah]
//                      [--workloads parallel,bigctx,stacked,nodeapp] [--scenarios cold,warm,edit]
//                      [--no-micro] [--micro-only] [--out FILE] [--work DIR] [--host-fs]
//
// Starts a loopback registry holding the busybox base image, then for each builder and workload
// measures cold (empty build cache, base image present), warm (nothing changed) and edit (one
// context file changed) builds; each scenario's output image is checked before its times count.
// Prints a table of medians and tbuild/peer ratios and writes the same data as JSON.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildahBuilder, buildkitBuilder, tbuildBuilder } from './lib/builders.mjs';
import { run } from './lib/proc.mjs';
import { mountScratchFs } from './lib/scratch-fs.mjs';
import { pushBaseImage, startRegistry } from './lib/services.mjs';
import { isOurs, median, MEMORY_TARGET_MB, table } from './lib/stats.mjs';
import { verifyImage } from './lib/verify.mjs';
import { resetEdits, workloads } from './lib/workloads.mjs';
import { runMicro } from './micro/index.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');

function parseFlags(argv) {
  const o = { quick: false, micro: true, microOnly: false, work: '/tmp/tbb', out: path.join(here, 'results/latest.json') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--runs') o.runs = Number(val());
    else if (a === '--cold-runs') o.coldRuns = Number(val());
    else if (a === '--builders') o.builders = val().split(',');
    else if (a === '--workloads') o.workloads = val().split(',');
    else if (a === '--scenarios') o.scenarios = val().split(',');
    else if (a === '--no-micro') o.micro = false;
    else if (a === '--micro-only') o.microOnly = true;
    else if (a === '--host-fs') o.hostFs = true;
    else if (a === '--out') o.out = path.resolve(val());
    else if (a === '--work') o.work = path.resolve(val());
    else if (a === '--help' || a === '-h') {
      console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 12).join('\n').replace(/^\/\/ ?/gm, ''));
      process.exit(0);
    } else throw new Error(`unknown flag ${a} (see --help)`);
  }
  o.runs ??= o.quick ? 2 : 5;
  o.coldRuns ??= o.quick ? 1 : 3;
  o.scenarios ??= ['cold', 'warm', 'edit'];
  return o;
}

async function machine() {
  const cpu = os.cpus();
  const kernel = os.release();
  const fsType = (await run('stat', ['-f', '-c', '%T', os.tmpdir()], { check: false })).stdout.trim();
  return {
    cpu: `${cpu[0]?.model ?? '?'} x${cpu.length}`,
    memoryGb: +(os.totalmem() / 2 ** 30).toFixed(1),
    kernel,
    node: process.version,
    tmpFs: fsType,
  };
}

const log = (...a) => console.error(...a);

/**
 * Cold, warm and edit of one workload for every builder. The builders take turns run by run
 * (tbuild, BuildKit, Buildah, tbuild, ...) so the machine's drift falls on all of them alike,
 * and each timed build starts after `sync`, so no builder pays for the previous one's writeback.
 * Returns {builder: {scenario: {runs, median, peakMb}}}.
 */
async function measureWorkload(bs, w, o, editCounter) {
  const out = Object.fromEntries(bs.map((b) => [b.name, {}]));
  const check = async (b, scenario, n) => {
    const problems = await verifyImage((file) => b.save(w, file), w.expect(n), path.join(o.work, 'verify'));
    if (problems.length) throw new Error(`${b.name} ${w.name} ${scenario}: wrong image:\n  ${problems.join('\n  ')}`);
  };
  const timed = async (scenario, count, beforeRound) => {
    const runs = Object.fromEntries(bs.map((b) => [b.name, []]));
    const peaks = {};
    let n = 0;
    for (let i = 0; i < count; i++) {
      n = (await beforeRound?.()) ?? n;
      for (const b of bs) {
        if (scenario === 'cold') await b.reset();
        await run('sync', []);
        const r = await b.build(w);
        runs[b.name].push(r.ms);
        if (r.peakMb !== undefined) peaks[b.name] = Math.max(peaks[b.name] ?? 0, r.peakMb);
        log(`  ${b.name.padEnd(13)} ${w.name.padEnd(8)} ${scenario.padEnd(4)} #${i + 1}: ${(r.ms / 1000).toFixed(2)}s${r.peakMb ? ` ${r.peakMb.toFixed(0)} MB` : ''}`);
      }
    }
    for (const b of bs) {
      await check(b, scenario, n);
      out[b.name][scenario] = { runs: runs[b.name], median: median(runs[b.name]), peakMb: peaks[b.name] };
    }
  };
  resetEdits([w]);
  const sc = o.scenarios;
  if (sc.includes('cold')) await timed('cold', o.coldRuns);
  else {
    // Warm and edit need a cache that holds the unedited build (every builder runs RUN without network).
    for (const b of bs) await b.reset();
    for (const b of bs) await b.build(w);
  }
  if (sc.includes('warm')) await timed('warm', o.runs);
  if (sc.includes('edit')) {
    await timed('edit', o.runs, () => {
      const n = editCounter.next++;
      w.edit(n);
      return n;
    });
  }
  resetEdits([w]);
  return out;
}

async function main() {
  const o = parseFlags(process.argv.slice(2));
  const started = Date.now();
  const result = { started: new Date().toISOString(), machine: await machine(), options: o, builders: {}, rows: [], micro: undefined };
  // --micro-only reuses the contexts an earlier run generated in the work dir.
  const scratchFs = o.hostFs || o.microOnly ? { skipped: o.hostFs ? '--host-fs' : '--micro-only' } : await mountScratchFs(o.work);
  result.machine.benchFs = scratchFs.description ?? `the host's, in ${o.work} (${scratchFs.skipped})`;
  log(`machine: ${JSON.stringify(result.machine)}`);
  try {
    await measure(o, result);
  } finally {
    await scratchFs.unmount?.();
  }
  result.durationS = Math.round((Date.now() - started) / 1000);
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(o.out, JSON.stringify(result, null, 2) + '\n');
  console.log(`\nwrote ${path.relative(process.cwd(), o.out)} (${result.durationS}s)`);
}

/** The builds and micro benchmarks, into `result`. */
async function measure(o, result) {
  if (!o.microOnly) {
    if (!fs.existsSync('/usr/bin/docker-registry')) throw new Error('the benchmark needs docker-registry (Debian package docker-registry) for the shared base image');
    fs.mkdirSync(o.work, { recursive: true });
    // Always from the current sources: a stale bundle would measure old code.
    log('bundling the CLI (pnpm build)...');
    await run(process.execPath, [path.join(repo, 'packages/tbuild/scripts/bundle.mjs')]);
    const registry = await startRegistry(path.join(o.work, 'registry'));
    try {
      const base = await pushBaseImage(registry.host, o.work);
      log(`base image ${base}; generating workloads in ${o.work}/ctx...`);
      let ws = workloads(path.join(o.work, 'ctx'), base);
      if (o.workloads) ws = ws.filter((w) => o.workloads.includes(w.name));
      const all = [
        tbuildBuilder(o.work, base),
        tbuildBuilder(o.work, base, { server: true }),
        buildkitBuilder(o.work, base, registry.host),
        buildahBuilder(o.work, base),
      ];
      const bs = [];
      for (const b of all.filter((b) => !o.builders || o.builders.includes(b.name))) {
        const why = b.unavailable();
        if (why) {
          log(`skipping ${b.name}: ${why}`);
          result.builders[b.name] = { skipped: why };
        } else bs.push(b);
      }
      const perBuilder = Object.fromEntries(bs.map((b) => [b.name, {}]));
      try {
        for (const b of bs) {
          log(`== setting up ${b.name}`);
          await b.setup();
          result.builders[b.name] = { version: b.version, note: b.note };
        }
        const editCounter = { next: 1 };
        for (const w of ws) {
          const m = await measureWorkload(bs, w, o, editCounter);
          for (const b of bs) perBuilder[b.name][w.name] = m[b.name];
        }
      } finally {
        for (const b of bs) await b.teardown().catch((e) => log(`teardown of ${b.name}: ${e.message}`));
      }
      const names = Object.keys(perBuilder);
      for (const w of ws) {
        for (const scenario of o.scenarios) {
          const row = { workload: w.name, scenario, builders: {} };
          for (const n of names) {
            const m = perBuilder[n][w.name]?.[scenario];
            if (m) row.builders[n] = m;
          }
          result.rows.push(row);
        }
      }
      console.log('\nMedian wall time per build (' + `${o.coldRuns} cold, ${o.runs} warm/edit runs)\n`);
      console.log(table(result.rows, names));
      for (const n of names.filter(isOurs)) {
        const peak = Math.max(0, ...result.rows.filter((r) => r.workload === 'bigctx').map((r) => r.builders[n]?.peakMb ?? 0));
        if (peak) console.log(`${n} peak RSS on bigctx: ${peak.toFixed(0)} MB (target < ${MEMORY_TARGET_MB} MB)`);
      }
    } finally {
      await registry.stop();
    }
  }
  if (o.micro || o.microOnly) {
    log('== micro benchmarks');
    result.micro = await runMicro({ work: o.work, quick: o.quick });
    console.log('\nMicro benchmarks');
    for (const [k, v] of Object.entries(result.micro)) console.log(`  ${k.padEnd(28)} ${v.summary}`);
  }
}

main().catch((e) => {
  console.error(e?.stack ?? String(e));
  process.exit(1);
});
