#!/usr/bin/env node
// Renders a results JSON of bench/run.mjs as the Markdown tables docs/benchmarks.md shows.
// Usage: node bench/report-md.mjs [bench/results/latest.json]
import fs from 'node:fs';
import { isOurs, rowRatios } from './lib/stats.mjs';

const file = process.argv[2] ?? new URL('./results/latest.json', import.meta.url);
const r = JSON.parse(fs.readFileSync(file, 'utf8'));
const names = Object.keys(r.builders).filter((b) => !r.builders[b].skipped);
const ours = names.filter(isOurs);
const s = (ms) => (ms === undefined ? '–' : `${(ms / 1000).toFixed(2)} s`);
const out = [];
out.push(`Run ${r.started}, ${r.durationS ?? '?'} s; ${r.options.coldRuns} cold and ${r.options.runs} warm/edit runs per cell; medians.`);
out.push(`Machine: ${r.machine.cpu}, ${r.machine.memoryGb} GB, Linux ${r.machine.kernel}, Node ${r.machine.node}, /tmp on ${r.machine.tmpFs}.`);
if (r.machine.benchFs) out.push(`Builders' file system: ${r.machine.benchFs}.`);
for (const [b, v] of Object.entries(r.builders)) out.push(`- ${b}: ${v.skipped ? `skipped (${v.skipped})` : [v.version, v.note].filter(Boolean).join(', ') || 'this checkout'}`);
out.push('');
const pairs = r.rows[0] ? rowRatios(r.rows[0], names).pairs : [];
out.push(`| workload | scenario | ${names.join(' | ')} | ${pairs.map((p) => `${p.ours}/${p.peer}`).join(' | ')} | target (vs BuildKit) | ${ours.map((t) => `${t} peak RSS`).join(' | ')} |`);
out.push(`|---|---|${names.map(() => '---:').join('|')}|${pairs.map(() => '---:').join('|')}|---|${ours.map(() => '---:').join('|')}|`);
for (const row of r.rows) {
  const x = rowRatios(row, names);
  const verdicts = x.verdicts.filter((v) => v.met !== undefined).map((v) => `${v.ours} ${v.met ? 'met' : '**missed**'}`);
  const peak = (t) => (row.builders[t]?.peakMb ? `${row.builders[t].peakMb.toFixed(0)} MB` : '–');
  out.push(
    `| ${row.workload} | ${row.scenario} | ${names.map((n) => s(row.builders[n]?.median)).join(' | ')} | ${x.pairs.map((p) => (p.ratio === undefined ? '–' : p.ratio.toFixed(2))).join(' | ')} | ≤ ${x.target}${verdicts.length ? `: ${verdicts.join(', ')}` : ''} | ${ours.map(peak).join(' | ')} |`,
  );
}
if (r.micro) {
  out.push('', '| micro benchmark | result |', '|---|---|');
  for (const [k, v] of Object.entries(r.micro)) out.push(`| ${k} | ${v.summary} |`);
}
console.log(out.join('\n'));
