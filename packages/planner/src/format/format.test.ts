import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { formatPlanDot, formatPlanJson, formatPlanText } from '../index.ts';
import { planText } from '../test-support.ts';

const TEXT = `FROM busybox AS build
RUN echo "quoted \\"text\\"" && echo more
COPY <<EOF /etc/x
line
EOF
FROM busybox AS other
FROM alpine
COPY --from=build /etc/x /x
RUN --mount=type=bind,from=other,target=/o true
`;

describe('renderers', () => {
  it('text: one block per stage, one line per step', async () => {
    const p = await planText(TEXT);
    const out = formatPlanText(p);
    const digest = (p.stages[0]!.base as { digest: string }).digest;
    expect(out.split('\n')[0]).toBe(`stage 0 (build) linux/amd64 from image docker.io/library/busybox@${digest}`);
    expect(out).toMatch(/^ {2}2\.1 +copy +[0-9a-f]{12} {2}COPY --from=build \/etc\/x \/x {2}<- 0\.2$/m);
    expect(out).toContain('[target]');
  });

  it('json: round-trips to the same plan data (without the Dockerfile text)', async () => {
    const p = await planText(TEXT, { buildArgs: { NOPE: '1' } });
    const back = JSON.parse(formatPlanJson(p)) as { steps: unknown; warnings: Array<Record<string, unknown>> };
    expect(back.steps).toEqual(JSON.parse(JSON.stringify(p.steps)));
    expect(back.warnings[0]).toMatchObject({ code: 'TB_PLAN_UNUSED_BUILD_ARG', severity: 'warning' });
  });

  it('dot: graphviz accepts it, with clusters and cross-stage edges', async () => {
    const p = await planText(TEXT);
    const dot = formatPlanDot(p);
    expect(dot).toContain('subgraph cluster_0');
    expect(dot).toMatch(/"0\.2" -> "2\.1" \[style=dashed\]/);
    expect(dot).toMatch(/base_1 -> "2\.2" \[style=dashed\]/);
    const svg = execFileSync('dot', ['-Tsvg'], { input: dot }).toString();
    expect(svg).toContain('<svg');
  });

  it('marks which steps the store would serve, in every format', async () => {
    const p = await planText(TEXT);
    const cached = new Set(['0.1']);
    const text = formatPlanText(p, { cached });
    expect(text).toMatch(/^ {2}0\.1 +run .*\[cached\]$/m);
    expect(text).toMatch(/^ {2}0\.2 +copy .*\[will run\]$/m);
    const json = JSON.parse(formatPlanJson(p, { cached })) as { steps: Array<{ id: string; cached?: boolean }> };
    expect(json.steps.find((s) => s.id === '0.1')?.cached).toBe(true);
    expect(json.steps.find((s) => s.id === '0.2')?.cached).toBe(false);
    expect(formatPlanDot(p, { cached })).toMatch(/"0\.1" \[label=.*fillcolor/);
  });
});
