// Summaries and the terminal table. Ratios are tbuild's (and tbuild-server's) median over the
// peer's median from the same run; targets come from issue 8 and are checked here so misses stand out.

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

/** tbuild and its variants (tbuild-server) are measured against the peers. */
export const isOurs = (name) => name === 'tbuild' || name.startsWith('tbuild-');
export const shortName = (name) => name.replace(/^tbuild/, 'tb');

/** For one row: each (tbuild variant, peer) ratio, and each variant's verdict against BuildKit. */
export function rowRatios(row, names) {
  const ours = names.filter(isOurs);
  const peers = names.filter((n) => !isOurs(n));
  const ratio = (t, p) => (row.builders[t]?.median !== undefined && row.builders[p]?.median ? row.builders[t].median / row.builders[p].median : undefined);
  const limit = target(row.workload, row.scenario);
  return {
    pairs: ours.flatMap((t) => peers.map((p) => ({ ours: t, peer: p, ratio: ratio(t, p) }))),
    target: limit,
    verdicts: ours.map((t) => ({ ours: t, met: ratio(t, 'buildkit') === undefined ? undefined : ratio(t, 'buildkit') <= limit })),
  };
}

/** Rows of {workload, scenario, builders: {name: {median, runs, peakMb}}}. */
export function table(rows, builderNames) {
  const ours = builderNames.filter(isOurs);
  const first = rows[0] ? rowRatios(rows[0], builderNames).pairs : [];
  const head = ['workload', 'scenario', ...builderNames, ...first.map((x) => `${shortName(x.ours)}/${x.peer}`), 'target vs buildkit', ...ours.map((t) => `${shortName(t)} MB`)];
  const body = rows.map((r) => {
    const x = rowRatios(r, builderNames);
    const marks = x.verdicts.filter((v) => v.met !== undefined).map((v) => `${shortName(v.ours)} ${v.met ? 'ok' : 'MISS'}`);
    return [
      r.workload,
      r.scenario,
      ...builderNames.map((b) => fmtS(r.builders[b]?.median)),
      ...x.pairs.map((p) => fmtR(p.ratio)),
      `<=${x.target}${marks.length ? ` ${marks.join(', ')}` : ''}`,
      ...ours.map((t) => (r.builders[t]?.peakMb === undefined ? '-' : r.builders[t].peakMb.toFixed(0))),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => String(b[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
