import { describe, expect, it } from 'vitest';
import { planText } from './test-support.ts';
import type { RunSpec, Step } from './types.ts';

const run = (s: Step | undefined): RunSpec => s!.spec as RunSpec;

describe('ARG scoping', () => {
  it('global ARGs are visible in FROM only, unless redeclared in the stage', async () => {
    const p = await planText('ARG IMG=busybox\nARG V=1\nFROM $IMG\nRUN echo $V\nARG V\nRUN echo $V\nARG IMG\n');
    const [r1, , r2] = p.steps;
    expect(run(r1).env).not.toContain('V=1');
    expect(run(r2).env).toContain('V=1');
    expect(p.stages[0]!.base).toMatchObject({ kind: 'image', ref: 'docker.io/library/busybox' });
  });

  it('--build-arg overrides defaults, globally and in stages', async () => {
    const p = await planText('ARG IMG=busybox\nFROM $IMG\nARG V=1\nRUN true\n', { buildArgs: { IMG: 'alpine', V: '2' } });
    expect(p.stages[0]!.base).toMatchObject({ ref: 'docker.io/library/alpine' });
    expect(run(p.steps[1]).env).toContain('V=2');
  });

  it('ARGs reach RUN env and history but never the image Env; ENV of the same name wins', async () => {
    const p = await planText('FROM busybox\nARG A=1\nARG B=x\nENV B=y\nRUN true\n');
    const r = p.steps[3]!;
    expect(run(r).env).toEqual(['PATH=/bin:/usr/bin', 'A=1', 'B=y']);
    expect(r.history?.created_by).toBe('RUN |2 A=1 B=y /bin/sh -c true # buildkit');
    expect(p.stages[0]!.config.config?.Env).toEqual(['PATH=/bin:/usr/bin', 'B=y']);
  });

  it('platform args exist in the global scope and need a declaration inside a stage', async () => {
    const p = await planText('FROM busybox\nRUN echo $TARGETARCH\nARG TARGETARCH\nARG BUILDPLATFORM\nRUN true\n', {
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
      buildPlatform: { os: 'linux', architecture: 'amd64' },
    });
    expect(run(p.steps[0]).env.some((e) => e.startsWith('TARGETARCH'))).toBe(false);
    expect(run(p.steps[3]).env).toEqual(expect.arrayContaining(['TARGETARCH=arm64', 'BUILDPLATFORM=linux/amd64']));
  });

  it('a stage built on another stage inherits its ARGs; an unrelated stage does not', async () => {
    const p = await planText('FROM busybox AS a\nARG X=1\nFROM a AS b\nRUN true\nFROM busybox AS c\nCOPY --from=b /x /x\nRUN true\n');
    const rb = p.steps.find((s) => s.stage === 1 && s.kind === 'run');
    const rc = p.steps.find((s) => s.stage === 2 && s.kind === 'run');
    expect(run(rb).env).toContain('X=1');
    expect(run(rc).env).not.toContain('X=1');
  });

  it('proxy args reach RUN without a declaration but stay out of env, history and keys', async () => {
    const a = await planText('FROM busybox\nRUN true\n', { buildArgs: { HTTP_PROXY: 'http://p:1', no_proxy: 'x' } });
    const b = await planText('FROM busybox\nRUN true\n');
    expect(run(a.steps[0]).proxyEnv).toEqual(['HTTP_PROXY=http://p:1', 'no_proxy=x']);
    expect(run(a.steps[0]).env).toEqual(run(b.steps[0]).env);
    expect(a.steps[0]!.history?.created_by).toBe('RUN /bin/sh -c true # buildkit');
    expect(a.steps[0]!.cacheKey).toBe(b.steps[0]!.cacheKey);
    expect(a.warnings).toEqual([]);
  });

  it('an ARG a step cannot see never changes its key', async () => {
    const text = 'ARG G=1\nFROM busybox AS other\nARG O=1\nRUN other\nFROM busybox\nRUN first\nARG L=1\nRUN second\n';
    const base = await planText(text, { target: '1' });
    const keys = async (buildArgs: Record<string, string>) => (await planText(text, { target: '1', buildArgs })).steps.map((s) => s.cacheKey);
    const before = base.steps.map((s) => s.cacheKey);
    expect(await keys({ G: '2' })).toEqual(before); // global, not redeclared
    expect(await keys({ O: '2' })).toEqual(before); // another stage's ARG
    const later = await keys({ L: '2' }); // declared after "RUN first"
    expect(later[0]).toBe(before[0]);
    expect(later[1]).toBe(before[1]); // the ARG step is keyed on its declaration
    expect(later[2]).not.toBe(before[2]);
  });

  it('warns about a build-arg no ARG consumes, with a suggestion', async () => {
    const p = await planText('FROM busybox\nARG VERSION\n', { buildArgs: { VERSON: '1', VERSION: '2' } });
    expect(p.warnings.map((w) => [w.code, w.message, w.hint])).toEqual([
      ['TB_PLAN_UNUSED_BUILD_ARG', 'build-arg "VERSON" was not consumed by any ARG of the stages built', 'did you mean "VERSION"?'],
    ]);
  });

  it('warns about an undefined variable in FROM', async () => {
    const p = await planText('FROM busybox$SUFFIX\n');
    expect(p.warnings.map((w) => [w.code, w.location?.range.start.line])).toEqual([['TB_PLAN_UNDEFINED_ARG_IN_FROM', 1]]);
  });
});
