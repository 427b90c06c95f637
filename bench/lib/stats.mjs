// Summaries and the terminal table. Ratios are tbuild's median over the peer's median from the
// same run; targets come from issue 8 and are checked here so misses stand out.

export const median = (xs) => {
  if (!xs.length) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Issue 8's ceilings on tbuild/BuildKit by scenario (and workload where it differs). */
export function target(workload, scenario) {
  if (scenario === 'cold') return 0.7;
  if (workload === 'bigctx') return 0.5;
  return 1.0;
}
export const MEMORY_TARGET_MB = 300;

const fmtS = (ms) => (ms === undefined ? '-' : ms >= 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${(ms / 1000).toFixed(2)}s`);
const fmtR = (r) => (r === undefined ? '-' : r.toFixed(2));

/** Rows of {workload, scenario, builders: {name: {median, runs}}, tbuildPeakMb}. */
export function table(rows, builderNames) {
  const peers = builderNames.filter((b) => b !== 'tbuild');
  const head = ['workload', 'scenario', ...builderNames, ...peers.map((p) => `tb/${p}`), 'target', 'tb peak MB'];
  const body = rows.map((r) => {
    const tb = r.builders.tbuild?.median;
    const ratios = peers.map((p) => (tb !== undefined && r.builders[p]?.median ? tb / r.builders[p].median : undefined));
    const bk = peers.includes('buildkit') ? ratios[peers.indexOf('buildkit')] : undefined;
    const t = target(r.workload, r.scenario);
    const mark = bk === undefined ? '' : bk <= t ? ' ok' : ' MISS';
    return [
      r.workload,
      r.scenario,
      ...builderNames.map((b) => fmtS(r.builders[b]?.median)),
      ...ratios.map(fmtR),
      `<=${t}${mark}`,
      r.tbuildPeakMb === undefined ? '-' : r.tbuildPeakMb.toFixed(0),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => String(b[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
