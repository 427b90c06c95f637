import { describe, expect, it } from 'vitest';
import { MemRegistry, DEFAULT_IMAGES, planError, planText } from './test-support.ts';

describe('stages', () => {
  it('plans only the stages the target needs, in dependency order', async () => {
    const p = await planText(`FROM busybox AS a
RUN echo a
FROM busybox AS b
RUN echo b
FROM a AS c
COPY --from=0 /x /x
FROM busybox AS d
RUN echo d
`, { target: 'c' });
    expect(p.stages.map((s) => s.index)).toEqual([0, 2]);
    expect(p.target).toBe(2);
    const c = p.stages[1]!;
    expect(c.base).toEqual({ kind: 'stage', stage: 0 });
    expect(c.root.kind).toBe('image');
    const copy = p.steps.find((s) => s.kind === 'copy')!;
    expect(copy.parent).toBe('0.1');
    expect(copy.deps).toEqual([{ stage: 0, step: '0.1' }]);
    expect(c.parentStep).toBe('0.1');
    expect(c.baseKey).toBe(p.stages[0]!.finalKey);
  });

  it('defaults to the last stage and never resolves images of pruned stages', async () => {
    const registry = new MemRegistry({ ...DEFAULT_IMAGES });
    const p = await planText('FROM alpine AS unused\nRUN x\nFROM busybox\nRUN y\n', { registry });
    expect(p.stages.map((s) => s.index)).toEqual([1]);
    expect(registry.calls).toEqual(['busybox linux/amd64']);
  });

  it('matches stage names case-insensitively, for FROM, --from and --target', async () => {
    const p = await planText('FROM busybox AS Builder\nRUN b\nFROM BUILDER\nCOPY --from=builder /a /a\n', { target: '1' });
    expect(p.stages[1]!.base).toEqual({ kind: 'stage', stage: 0 });
    const q = await planText('FROM busybox AS Builder\nRUN b\nFROM busybox\n', { target: 'BUILDER' });
    expect(q.target).toBe(0);
  });

  it('treats a --from that names no stage as an image and pins it', async () => {
    const p = await planText('FROM busybox\nCOPY --from=alpine /etc/os-release /x\n');
    const copy = p.steps[0]!;
    expect(copy.spec).toMatchObject({ kind: 'copy', from: { kind: 'image', ref: 'docker.io/library/alpine' } });
    expect(JSON.stringify(copy.keyInputs)).toContain('"kind":"image"');
  });

  it('handles scratch and FROM --platform with global args', async () => {
    const p = await planText('ARG P=linux/arm64\nFROM --platform=$P scratch AS s\nCOPY a /a\nFROM --platform=$BUILDPLATFORM busybox\n', {
      files: { a: { content: 'a' } },
      target: 's',
      buildPlatform: { os: 'linux', architecture: 'amd64' },
    });
    expect(p.stages[0]!.platform).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(p.stages[0]!.base).toEqual({ kind: 'scratch' });
    expect(p.stages[0]!.config.architecture).toBe('arm64');
    expect(p.stages[0]!.config.config?.Env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  });

  it('reports an unknown target with a suggestion', async () => {
    const e = await planError(() => planText('FROM busybox AS builder\nFROM busybox\n', { target: 'buidler' }));
    expect(e.code).toBe('TB_PLAN_UNKNOWN_TARGET');
    expect(e.message).toBe('target stage "buidler" could not be found');
    expect(e.hint).toBe('did you mean "builder"?');
  });

  it('reports a stage used before it is defined, at the reference', async () => {
    const text = 'FROM busybox AS a\nCOPY --from=b /x /x\nFROM busybox AS b\n';
    const e = await planError(() => planText(text, { target: 'a' }));
    expect(e.code).toBe('TB_PLAN_STAGE_ORDER');
    expect(e.location?.range.start.line).toBe(2);
    const f = await planError(() => planText('FROM later\nFROM busybox AS later\n', { target: '0' }));
    expect(f.code).toBe('TB_PLAN_STAGE_ORDER');
    expect(f.location?.range.start.line).toBe(1);
  });

  it('reports a stage reading itself as a cycle and a bad index', async () => {
    const e = await planError(() => planText('FROM busybox AS a\nCOPY --from=a /x /x\n'));
    expect(e.code).toBe('TB_PLAN_STAGE_CYCLE');
    expect(e.message).toBe('circular dependency detected on stage: a');
    const f = await planError(() => planText('FROM busybox\nCOPY --from=7 /x /x\n'));
    expect(f.code).toBe('TB_PLAN_STAGE_INDEX');
    expect(f.location?.range.start.line).toBe(2);
  });

  it('reports a missing base image at its FROM, hinting at a similar stage name', async () => {
    const e = await planError(() => planText('FROM busybox AS builder\nRUN x\nFROM buildr\nRUN y\n'));
    expect(e.code).toBe('TB_REGISTRY_NOT_FOUND');
    expect(e.location?.range.start.line).toBe(3);
    expect(e.hint).toBe('did you mean the stage "builder"?');
  });

  it('reports duplicate stage names at the second one', async () => {
    const e = await planError(() => planText('FROM busybox AS a\nFROM busybox AS b\nFROM busybox AS A\n'));
    expect(e.diagnostics.map((d) => [d.code, d.location?.range.start.line, d.hint])).toEqual([
      ['TB_PLAN_DUPLICATE_STAGE', 3, 'the name is first used on line 1'],
    ]);
  });

  it('applies --no-cache-filter to the named stages only', async () => {
    const p = await planText('FROM busybox AS a\nRUN a\nFROM a\nRUN b\n', { noCacheFilter: ['a'] });
    expect(p.steps.map((s) => [s.id, s.noCache])).toEqual([
      ['0.1', true],
      ['1.1', false],
    ]);
  });
});
