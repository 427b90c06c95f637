#!/usr/bin/env node
// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by file,
// so a profile can be read in the terminal; --timeline adds the busiest function per 25 ms.
// Usage: node bench/profile-summary.mjs [--timeline] FILE [top]
import fs from 'node:fs';

const args = process.argv.slice(2);
const timeline = args.includes('--timeline');
const [file, topArg] = args.filter((a) => a !== '--timeline');
if (!file) {
  console.error('usage: node bench/profile-summary.mjs [--timeline] FILE.cpuprofile [top]');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = prof.timeDeltas;
for (let i = 0; i < prof.samples.length; i++) self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (dt[i] ?? 0));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const fn = new Map();
const files = new Map();
for (const [id, us] of self) {
  const cf = byId.get(id).callFrame;
  const k = `${cf.functionName || '(anon)'} ${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber + 1}`;
  fn.set(k, (fn.get(k) ?? 0) + us);
  const f = cf.url ? cf.url.split('/').slice(-2).join('/') : `(${cf.functionName})`;
  files.set(f, (files.get(f) ?? 0) + us);
}
const show = (m) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, us]) => `${(us / 1000).toFixed(0).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`)
    .join('\n');
console.log(`total sampled ${(total / 1000).toFixed(0)} ms\n-- by function (self)\n${show(fn)}\n-- by file (self)\n${show(files)}`);

if (timeline) {
  // Which (non-idle) function dominated each 25 ms window: where the wall time of a short run goes.
  const windows = new Map();
  let t = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    t += dt[i] ?? 0;
    const cf = byId.get(prof.samples[i]).callFrame;
    const w = Math.floor(t / 25_000);
    const m = windows.get(w) ?? new Map();
    const k = cf.functionName === '(idle)' ? '(idle)' : `${cf.functionName || '(anon)'} ${cf.url.split('/').slice(-1)[0]}:${cf.lineNumber + 1}`;
    m.set(k, (m.get(k) ?? 0) + (dt[i] ?? 0));
    windows.set(w, m);
  }
  console.log('-- timeline (25 ms windows: idle share, busiest function)');
  for (const [w, m] of [...windows].sort((a, b) => a[0] - b[0])) {
    const total = [...m.values()].reduce((a, b) => a + b, 0) || 1;
    const busy = [...m].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1])[0];
    console.log(`${String(w * 25).padStart(6)} ms  idle ${(((m.get('(idle)') ?? 0) / total) * 100).toFixed(0).padStart(3)}%  ${busy ? busy[0] : ''}`);
  }
}
