import { describe, expect, it } from 'vitest';
import { MemContext, MemRegistry, DEFAULT_IMAGES, planError, planText } from './test-support.ts';
import type { CopySpec, RunSpec, Step } from './types.ts';

const run = (s: Step | undefined): RunSpec => s!.spec as RunSpec;
const copy = (s: Step | undefined): CopySpec => s!.spec as CopySpec;

describe('ENV and expansion', () => {
  it('expands in exactly the instructions BuildKit expands', async () => {
    const p = await planText(
      `FROM busybox
ENV D=/data U=app P=8080 L=lbl S=SIGTERM F=f.txt
WORKDIR $D
COPY $F ./\${F}.bak
USER $U
EXPOSE $P
LABEL $L=$P
VOLUME $D/v
STOPSIGNAL $S
RUN echo $D
CMD echo $D
HEALTHCHECK CMD echo $D
`,
      { files: { 'f.txt': { content: 'f' } } },
    );
    const cfg = p.stages[0]!.config.config!;
    expect(cfg.WorkingDir).toBe('/data');
    expect(copy(p.steps[2])).toMatchObject({ sources: ['f.txt'], dest: '/data/f.txt.bak' });
    expect(cfg.User).toBe('app');
    expect(cfg.ExposedPorts).toEqual({ '8080/tcp': {} });
    expect(cfg.Labels).toEqual({ lbl: '8080' });
    expect(cfg.Volumes).toEqual({ '/data/v': {} });
    expect(cfg.StopSignal).toBe('SIGTERM');
    // RUN/CMD/HEALTHCHECK text is left to the shell.
    expect(run(p.steps[8]).args).toEqual(['/bin/sh', '-c', 'echo $D']);
    expect(cfg.Cmd).toEqual(['/bin/sh', '-c', 'echo $D']);
    expect(cfg.Healthcheck).toEqual({ Test: ['CMD-SHELL', 'echo $D'] });
  });

  it('uses the values from before the ENV for every pair of one ENV', async () => {
    const p = await planText('FROM busybox\nENV A=1\nENV A=2 B=$A\n');
    expect(p.stages[0]!.config.config?.Env).toEqual(['PATH=/bin:/usr/bin', 'A=2', 'B=1']);
  });

  it('keeps base image ENV and replaces a key in place', async () => {
    const p = await planText('FROM busybox\nENV PATH=/x:$PATH Z=1\n');
    expect(p.stages[0]!.config.config?.Env).toEqual(['PATH=/x:/bin:/usr/bin', 'Z=1']);
  });

  it('SHELL changes how later shell forms run', async () => {
    const p = await planText('FROM busybox\nSHELL ["/bin/bash", "-eo", "pipefail", "-c"]\nRUN echo hi\nRUN ["echo", "exec"]\n');
    expect(run(p.steps[1]).args).toEqual(['/bin/bash', '-eo', 'pipefail', '-c', 'echo hi']);
    expect(run(p.steps[2]).args).toEqual(['echo', 'exec']);
  });

  it('resolves relative WORKDIR and COPY destinations, keeping a trailing slash', async () => {
    const p = await planText('FROM busybox\nWORKDIR /a\nWORKDIR b/../c\nCOPY x y/\nCOPY x .\nCOPY x /z/.\nCOPY x ./.\n', { files: { x: { content: '' } } });
    expect(p.steps[1]!.spec).toEqual({ kind: 'workdir', path: '/a/c', user: '', mkdir: true });
    expect(copy(p.steps[2]).dest).toBe('/a/c/y/');
    expect(copy(p.steps[3]).dest).toBe('/a/c/');
    // Only `.` and a trailing `/` mean "into": `/z/.` is the file /z, as in BuildKit.
    expect(copy(p.steps[4]).dest).toBe('/z');
    expect(copy(p.steps[5]).dest).toBe('/a/c');
  });

  it('ENTRYPOINT clears an inherited CMD but keeps one set in the stage', async () => {
    const a = await planText('FROM busybox\nENTRYPOINT ["/app"]\n');
    expect(a.stages[0]!.config.config?.Cmd).toBeUndefined();
    const b = await planText('FROM busybox\nCMD ["x"]\nENTRYPOINT ["/app"]\n');
    expect(b.stages[0]!.config.config?.Cmd).toEqual(['x']);
  });

  it('records history with empty_layer for config-only steps', async () => {
    const p = await planText('FROM busybox\nENV A=1\nRUN true\nWORKDIR /\n');
    const hist = p.stages[0]!.config.history!.slice(1);
    expect(hist).toEqual([
      { created_by: 'ENV A=1', comment: 'buildkit.dockerfile.v0', empty_layer: true },
      { created_by: 'RUN /bin/sh -c true # buildkit', comment: 'buildkit.dockerfile.v0' },
      { created_by: 'WORKDIR /', comment: 'buildkit.dockerfile.v0', empty_layer: true },
    ]);
  });

  it('adds --label to the target image only', async () => {
    const p = await planText('FROM busybox AS a\nFROM a\nLABEL x=1\n', { labels: { z: '2', y: '1' } });
    expect(p.stages[1]!.config.config?.Labels).toEqual({ x: '1', y: '1', z: '2' });
    expect(p.stages[0]!.config.config?.Labels).toBeUndefined();
  });
});

describe('RUN and COPY specs', () => {
  it('types mounts, resolves from= and applies defaults', async () => {
    const p = await planText(
      `FROM busybox AS src
FROM busybox
WORKDIR /w
RUN --mount=type=cache,target=cache --mount=type=secret,id=tok --mount=type=bind,from=src,source=/etc,target=/e --mount=type=tmpfs,target=/t --mount=type=bind,target=/ctx true
`,
      { files: { a: { content: 'a' } } },
    );
    const r = run(p.steps.find((s) => s.kind === 'run'));
    expect(r.mounts).toEqual([
      { type: 'cache', target: '/w/cache', id: '/w/cache', sharing: 'shared', readonly: false, mode: 0o755, uid: 0, gid: 0 },
      { type: 'secret', id: 'tok', target: '/run/secrets/tok', required: false, mode: 0o400, uid: 0, gid: 0 },
      { type: 'bind', target: '/e', source: '/etc', readonly: true, from: { kind: 'stage', stage: 0 } },
      { type: 'tmpfs', target: '/t' },
      { type: 'bind', target: '/ctx', source: '/', readonly: true, from: { kind: 'context' } },
    ]);
    expect(r.workdir).toBe('/w');
  });

  it('fails a required secret that is not provided', async () => {
    const e = await planError(() => planText('FROM busybox\nRUN --mount=type=secret,id=npm,required true\n', { secrets: ['other'] }));
    expect(e.code).toBe('TB_PLAN_SECRET_MISSING');
    expect(e.location?.range.start.line).toBe(2);
  });

  it('refuses RUN --network=host and --security=insecure without the entitlement, only in stages the target builds', async () => {
    const text = 'FROM busybox AS unused\nRUN --security=insecure true\nFROM busybox\nRUN --network=host true\n';
    const e = await planError(() => planText(text));
    expect(e.code).toBe('TB_PLAN_ENTITLEMENT');
    expect(e.message).toBe('RUN --network=host needs the network.host entitlement');
    expect(e.location?.range.start).toMatchObject({ line: 4, column: 5 });
    expect(run((await planText(text, { entitlements: ['network.host'] })).steps[0])).toMatchObject({ network: 'host', security: 'sandbox' });
    const insecure = await planError(() => planText(text, { target: 'unused' }));
    expect(insecure.message).toBe('RUN --security=insecure needs the security.insecure entitlement');
    expect(run((await planText(text, { target: 'unused', entitlements: ['security.insecure'] })).steps[0])).toMatchObject({ security: 'insecure' });
  });

  it('gives RUN the --add-host entries and keys them, leaving keys of builds without any as they were', async () => {
    const text = 'FROM busybox\nRUN cat /etc/hosts\n';
    const plain = await planText(text);
    const hosts = [{ host: 'reg.local', ip: '10.0.0.5' }];
    const added = await planText(text, { extraHosts: hosts });
    expect(run(added.steps[0]).extraHosts).toEqual(hosts);
    expect(run(plain.steps[0])).not.toHaveProperty('extraHosts');
    expect(added.steps[0]!.cacheKey).not.toBe(plain.steps[0]!.cacheKey);
    expect((await planText(text, { extraHosts: [] })).steps[0]!.cacheKey).toBe(plain.steps[0]!.cacheKey);
  });

  it('reads --build-context directories for COPY --from and mount from=, over a stage of that name; an image one stands in for FROM', async () => {
    const libs = new MemContext({ 'lib.txt': { content: 'v1' } });
    const text = 'FROM busybox AS libs\nRUN true\nFROM base\nCOPY --from=libs lib.txt /lib.txt\nRUN --mount=from=LIBS,target=/l cat /l/lib.txt\n';
    const named = { libs: { kind: 'local' as const, context: libs }, base: { kind: 'image' as const, ref: 'alpine' } };
    const p = await planText(text, { namedContexts: named });
    // The stage named libs is not built: the context took its name.
    expect(p.stages.map((s) => s.name)).toEqual([undefined]);
    const copy = p.steps.find((s) => s.spec.kind === 'copy')!;
    expect(copy.spec).toMatchObject({ from: { kind: 'context', name: 'libs' }, sources: ['lib.txt'] });
    expect(run(p.steps.find((s) => s.spec.kind === 'run')!).mounts[0]).toMatchObject({ type: 'bind', from: { kind: 'context', name: 'libs' } });
    // Content-addressed: an edit in the named context changes the COPY's key.
    const edited = await planText(text, { namedContexts: { ...named, libs: { kind: 'local', context: new MemContext({ 'lib.txt': { content: 'v2' } }) } } });
    expect(edited.steps.find((s) => s.spec.kind === 'copy')!.cacheKey).not.toBe(copy.cacheKey);
    const e = await planError(() => planText('FROM libs\n', { namedContexts: named }));
    expect(e.code).toBe('TB_PLAN_NAMED_CONTEXT');
  });

  it('turns a lone heredoc into the shell script, and a shebang heredoc into a mounted file', async () => {
    const p = await planText('FROM busybox\nRUN <<EOF\necho a\necho b\nEOF\nRUN <<EOF\n#!/bin/sh\necho c\nEOF\nRUN cat <<A > /f\nx\nA\n');
    expect(run(p.steps[0]).args).toEqual(['/bin/sh', '-c', 'echo a\necho b\n']);
    expect(run(p.steps[1])).toMatchObject({ args: ['/bin/sh', '-c', '/dev/pipes/EOF'], files: [{ path: '/dev/pipes/EOF', content: '#!/bin/sh\necho c\n', mode: 0o755 }] });
    expect(run(p.steps[2]).args).toEqual(['/bin/sh', '-c', 'cat <<A > /f\nx\nA']);
  });

  it('COPY heredocs become inline files, expanded unless the delimiter is quoted', async () => {
    const p = await planText('FROM busybox\nENV N=1\nCOPY <<A <<"B" /d/\n$N\nA\n$N\nB\n');
    expect(copy(p.steps[1]).inline).toEqual([
      { path: 'A', content: '1\n', mode: 0o644 },
      { path: 'B', content: '$N\n', mode: 0o644 },
    ]);
    expect(copy(p.steps[1]).context).toBeUndefined();
  });

  it('hashes exactly the selection it records for the executor', async () => {
    const p = await planText('FROM busybox\nCOPY --parents --exclude=*.md ./a/../b c* /dst/\n', { files: { b: { content: '' }, c1: { content: '' } } });
    expect(copy(p.steps[0])).toMatchObject({ sources: ['b', 'c*'], context: { sources: ['b', 'c*'], excludes: ['*.md'], parents: true }, link: false });
  });

  it('drops --link when --chmod is set, like BuildKit', async () => {
    const p = await planText('FROM busybox\nCOPY --link --chmod=644 a /a\n', { files: { a: { content: '' } } });
    expect(copy(p.steps[0])).toMatchObject({ link: false, chmod: '644' });
  });

  it('keeps ADD URLs out of the context and rejects them for COPY', async () => {
    const p = await planText('FROM busybox\nADD --checksum=sha256:abc https://example.com/x.tgz /x\n');
    expect(copy(p.steps[0])).toMatchObject({ kind: 'add', urls: ['https://example.com/x.tgz'], checksum: 'sha256:abc' });
    const e = await planError(() => planText('FROM busybox\nCOPY https://example.com/x /x\n'));
    expect(e.message).toBe("source can't be a URL for COPY");
  });
});

describe('ONBUILD', () => {
  it("fires a base image's triggers at FROM and clears them", async () => {
    const images = { ...DEFAULT_IMAGES, onb: { config: { config: { OnBuild: ['RUN echo trig', 'COPY a /a'] } } } };
    const text = 'FROM busybox\nRUN echo x\nFROM onb\nRUN echo own\n';
    const p = await planText(text, { registry: new MemRegistry(images), files: { a: { content: 'a' } } });
    const steps = p.steps.filter((s) => s.stage === 1);
    expect(steps.map((s) => s.text)).toEqual(['ONBUILD RUN echo trig', 'ONBUILD COPY a /a', 'RUN echo own']);
    expect(steps[0]!.location.start.line).toBe(3);
    expect(p.stages.map((s) => s.index)).toEqual([1]);
    expect(p.stages[0]!.config.config?.OnBuild).toBeUndefined();
  });

  it("fires a base stage's ONBUILD instructions, which do not reach grand-children", async () => {
    const p = await planText('FROM busybox AS a\nONBUILD RUN echo hi\nFROM a AS b\nFROM b\n');
    const runs = p.steps.filter((s) => s.kind === 'run');
    expect(runs.map((s) => s.stage)).toEqual([1]);
    expect(p.stages[0]!.config.config?.OnBuild).toEqual(['RUN echo hi']);
    expect(p.stages[1]!.config.config?.OnBuild).toBeUndefined();
  });

  it('a trigger with COPY --from pulls in the stage it names', async () => {
    const p = await planText('FROM busybox AS dep\nRUN d\nFROM busybox AS base\nONBUILD COPY --from=dep /x /x\nFROM busybox AS unused\nFROM base\n');
    expect(p.stages.map((s) => s.index)).toEqual([0, 1, 3]);
  });

  it('reports an invalid trigger of an image at the FROM line', async () => {
    const images = { ...DEFAULT_IMAGES, bad: { config: { config: { OnBuild: ['FROM x'] } } } };
    const e = await planError(() => planText('FROM bad\n', { registry: new MemRegistry(images) }));
    expect(e.code).toBe('TB_PLAN_ONBUILD');
    expect(e.location?.range.start.line).toBe(1);
  });
});

describe('config-only keys (CVE-2024-24557)', () => {
  it('every distinct config instruction on scratch gets a distinct key', async () => {
    const variants = [
      'HEALTHCHECK CMD a',
      'HEALTHCHECK CMD b',
      'HEALTHCHECK --retries=2 CMD a',
      'HEALTHCHECK NONE',
      'ONBUILD RUN a',
      'ONBUILD RUN b',
      'CMD ["a"]',
      'CMD a',
      'ENTRYPOINT ["a"]',
      'LABEL a=b',
      'LABEL a=c',
      'ENV a=b',
      'EXPOSE 80',
      'EXPOSE 80/udp',
      'VOLUME /a',
      'USER a',
      'STOPSIGNAL SIGINT',
      'SHELL ["/bin/bash", "-c"]',
      'MAINTAINER a',
    ];
    const keys = await Promise.all(variants.map(async (v) => (await planText(`FROM scratch\n${v}\n`)).steps[0]!.cacheKey));
    expect(new Set(keys).size).toBe(variants.length);
    const arm = await planText('FROM scratch\nCMD ["a"]\n', { platform: { os: 'linux', architecture: 'arm64' } });
    expect(keys).not.toContain(arm.steps[0]!.cacheKey);
  });
});

describe('errors', () => {
  it('reports every error of the plan, each at its line', async () => {
    const text = 'FROM busybox\nCOPY missing /m\nEXPOSE 99999\nSTOPSIGNAL SIGNOPE\nCOPY --chmod=999 a /a\nADD --checksum=sha256:abc a /b\n';
    const e = await planError(() => planText(text, { files: { a: { content: '' } } }));
    expect(e.diagnostics.map((d) => [d.code, d.location?.range.start.line])).toEqual([
      ['TB_CONTEXT_NOT_FOUND', 2],
      ['TB_PLAN_INVALID_PORT', 3],
      ['TB_PLAN_INVALID_SIGNAL', 4],
      ['TB_PLAN_INVALID_CHMOD', 5],
      ['TB_PLAN_CHECKSUM', 6],
    ]);
  });

  it('points a failed expansion at its word', async () => {
    const e = await planError(() => planText('FROM busybox\nENV A=${B:?required}\n'));
    expect(e.location?.range.start.line).toBe(2);
    expect(e.message).toContain('required');
  });

  it('rejects WORKDIR and VOLUME inside /proc', async () => {
    const e = await planError(() => planText('FROM busybox\nWORKDIR /proc/self/fd/7\nVOLUME /proc/x\nWORKDIR /procfs\n'));
    expect(e.diagnostics.map((d) => [d.code, d.location?.range.start.line])).toEqual([
      ['TB_PLAN_PROC_PATH', 2],
      ['TB_PLAN_PROC_PATH', 3],
    ]);
  });

  it('warns about secret-looking ARG and ENV names, but not allowed ones', async () => {
    const p = await planText('ARG GITHUB_TOKEN\nFROM busybox\nARG NPM_TOKEN PUBLIC_KEY\nENV AWS_SECRET_ACCESS_KEY=x TOKENIZER=y\n');
    expect(p.warnings.map((w) => [w.code, w.message, w.location?.range.start.line])).toEqual([
      ['TB_PLAN_SECRET_IN_ARG_OR_ENV', 'Do not use ARG or ENV instructions for sensitive data (ARG "GITHUB_TOKEN")', 1],
      ['TB_PLAN_SECRET_IN_ARG_OR_ENV', 'Do not use ARG or ENV instructions for sensitive data (ARG "NPM_TOKEN")', 3],
      ['TB_PLAN_SECRET_IN_ARG_OR_ENV', 'Do not use ARG or ENV instructions for sensitive data (ENV "AWS_SECRET_ACCESS_KEY")', 4],
    ]);
  });

  it('requires a directory destination for several sources', async () => {
    const e = await planError(() => planText('FROM busybox\nCOPY a b /dst\n', { files: { a: { content: '' }, b: { content: '' } } }));
    expect(e.code).toBe('TB_PLAN_COPY_DEST');
  });
});
