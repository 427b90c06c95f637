#!/usr/bin/env node
// Renders a results JSON of bench/run.mjs as the Markdown tables docs/benchmarks.md shows.
// Usage: node bench/report-md.mjs [bench/results/latest.json]
import fs from 'node:fs';
import { target } from './lib/stats.mjs';

const file = process.argv[2] ?? new URL('./results/latest.json', import.meta.url);
const r = JSON.parse(fs.readFileSync(file, 'utf8'));
const names = Object.keys(r.builders).filter((b) => !r.builders[b].skipped);
const peers = names.filter((b) => b !== 'tbuild');
const s = (ms) => (ms === undefined ? '–' : `${(ms / 1000).toFixed(2)} s`);
const out = [];
out.push(`Run ${r.started}, ${r.durationS ?? '?'} s; ${r.options.coldRuns} cold and ${r.options.runs} warm/edit runs per cell; medians.`);
out.push(`Machine: ${r.machine.cpu}, ${r.machine.memoryGb} GB, Linux ${r.machine.kernel}, Node ${r.machine.node}, /tmp on ${r.machine.tmpFs}.`);
for (const [b, v] of Object.entries(r.builders)) out.push(`- ${b}: ${v.skipped ? `skipped (${v.skipped})` : [v.version, v.note].filter(Boolean).join(', ') || 'this checkout'}`);
out.push('');
out.push(`| workload | scenario | ${names.join(' | ')} | ${peers.map((p) => `tbuild/${p}`).join(' | ')} | target (vs BuildKit) | tbuild peak RSS |`);
out.push(`|---|---|${names.map(() => '---:').join('|')}|${peers.map(() => '---:').join('|')}|---|---:|`);
for (const row of r.rows) {
  const tb = row.builders.tbuild?.median;
  const ratios = peers.map((p) => (tb && row.builders[p]?.median ? tb / row.builders[p].median : undefined));
  const bk = ratios[peers.indexOf('buildkit')];
  const t = target(row.workload, row.scenario);
  const verdict = bk === undefined ? '' : bk <= t ? ' met' : ' **missed**';
  out.push(
    `| ${row.workload} | ${row.scenario} | ${names.map((n) => s(row.builders[n]?.median)).join(' | ')} | ${ratios.map((x) => (x === undefined ? '–' : x.toFixed(2))).join(' | ')} | ≤ ${t}${verdict} | ${row.tbuildPeakMb ? `${row.tbuildPeakMb.toFixed(0)} MB` : '–'} |`,
  );
}
if (r.micro) {
  out.push('', '| micro benchmark | result |', '|---|---|');
  for (const [k, v] of Object.entries(r.micro)) out.push(`| ${k} | ${v.summary} |`);
}
console.log(out.join('\n'));
