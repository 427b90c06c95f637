import { describe, expect, it } from 'vitest';
import type { ExplainFile, StepExplain } from './explain-record.ts';
import { describeFileDiff, diffFiles } from './file-diff.ts';
import { redactKeyInputs, redactText } from './redact.ts';
import { parseDuration, parseSize } from './units.ts';
import { compareStep, type CompareContext } from './why-diff.ts';

const file = (p: string, digest: string, over: Partial<ExplainFile> = {}): ExplainFile => ({ path: p, digest, type: 'file', mode: 0o644, uid: 0, gid: 0, ...over });
const cx: CompareContext = { argNames: new Set(['VERSION']), stageOfKey: (k) => (k === 'sha256:build' ? 'build' : undefined), describeKey: () => undefined };
const explain = (over: Partial<StepExplain> = {}): StepExplain => ({ v: 1, dockerfile: '/d/Dockerfile', stage: '0', position: 1, chain: [], files: {}, ...over });
const run = (op: Record<string, unknown>, parent = 'sha256:p') => ({ v: 'tbuild-key-v1', kind: 'run', parent, op: { args: ['/bin/sh', '-c', 'make'], env: ['PATH=/bin'], user: '', workdir: '/', ...op } });

describe('file listing diffs', () => {
  it('names few changes and counts many, content last', () => {
    const before = [file('a', 'x1'), file('b', 'x2'), file('c', 'x3')];
    const after = [file('a', 'y1'), file('b', 'y2', { mode: 0o755 }), file('d', 'x4'), file('e', 'x5')];
    const d = diffFiles(before, after);
    expect(d).toEqual({ changed: [{ path: 'a', what: 'content' }, { path: 'b', what: 'mode 0644 -> 0755' }], added: ['d', 'e'], removed: ['c'] });
    expect(describeFileDiff(d)).toBe('a (content), b (mode 0644 -> 0755) changed, 2 files added, c removed');
    const many = diffFiles([1, 2, 3, 4].map((i) => file(`f${i}`, 'o')), [1, 2, 3, 4].map((i) => file(`f${i}`, 'n')));
    expect(describeFileDiff(many)).toBe('4 files changed (f1, f2, f3, ...)');
    expect(describeFileDiff(diffFiles([file('l', 'a', { type: 'symlink', link: 'x' })], [file('l', 'b', { type: 'symlink', link: 'y' })]))).toBe('l changed (link target x -> y)');
    expect(describeFileDiff(diffFiles([file('o', 'a')], [file('o', 'b', { uid: 1000, gid: 1000 })]))).toBe('o changed (owner 0:0 -> 1000:1000)');
  });
});

describe('compareStep', () => {
  it('reports the first differing input in key order: base, config steps, parent, then the op', () => {
    const base = (digest: string) => ({ kind: 'image' as const, key: `sha256:root-${digest}`, ref: 'docker.io/library/alpine:3', digest: `sha256:${digest.repeat(64).slice(0, 64)}` });
    const a = { keyInputs: run({}, 'sha256:root-a'), text: 'RUN make', explain: explain({ base: base('a') }) };
    const b = { keyInputs: run({ env: ['PATH=/bin', 'VERSION=2'] }, 'sha256:root-b'), text: 'RUN make', explain: explain({ base: base('b') }) };
    expect(compareStep(a, b, cx).map((d) => d.message)).toEqual(['base image digest changed: alpine:3 aaaaaaaaaaaa -> bbbbbbbbbbbb', 'build arg VERSION was set to 2']);
  });

  it('explains a config step before the RUN by its environment change', () => {
    const cfg = (mode: string) => ({ key: `sha256:c-${mode}`, keyInputs: { kind: 'config', op: { instruction: 'ENV', config: { Env: ['PATH=/bin', `MODE=${mode}`] } } }, line: 3, text: `ENV MODE=${mode}` });
    const a = { keyInputs: run({ env: ['MODE=dev'] }, 'sha256:c-dev'), text: 'RUN make', explain: explain({ chain: [cfg('dev')] }) };
    const b = { keyInputs: run({ env: ['MODE=prod'] }, 'sha256:c-prod'), text: 'RUN make', explain: explain({ chain: [cfg('prod')] }) };
    expect(compareStep(a, b, cx)[0]!.message).toBe('env MODE changed dev -> prod (line 3 `ENV MODE=prod`)');
  });

  it('turns COPY --from and mount sources into stage names and file lists', () => {
    const copy = (from: unknown) => ({ v: 'tbuild-key-v1', kind: 'copy', parent: 'sha256:p', op: { sources: ['/out'], dest: '/app/', from } });
    expect(compareStep({ keyInputs: copy({ kind: 'stage', key: 'sha256:old' }), text: 'COPY --from=build /out /app/' }, { keyInputs: copy({ kind: 'stage', key: 'sha256:build' }), text: 'COPY --from=build /out /app/' }, cx)[0]!.message).toBe(
      'source stage "build" changed',
    );
    const mount = (digest: string) => run({ mounts: [{ type: 'bind', target: '/src', source: '/', readonly: true, from: { kind: 'context', digest } }] });
    const ea = explain({ files: { 'sha256:m1': [file('go.mod', 'a')] } });
    const eb = explain({ files: { 'sha256:m2': [file('go.mod', 'b')] } });
    expect(compareStep({ keyInputs: mount('sha256:m1'), text: 'RUN x', explain: ea }, { keyInputs: mount('sha256:m2'), text: 'RUN x', explain: eb }, cx)[0]!.message).toBe('bind mount /src: go.mod changed (content)');
  });

  it('keeps secret-looking values out of every message', () => {
    const a = { keyInputs: run({ env: ['DB_PASSWORD=hunter2'] }), text: 'RUN make' };
    const b = { keyInputs: run({ env: ['DB_PASSWORD=hunter3'] }), text: 'RUN make' };
    expect(compareStep(a, b, cx)[0]!.message).toBe('env DB_PASSWORD changed (value redacted)');
    expect(redactText('ARG API_TOKEN=abc VERSION=1 PUBLIC_KEY=k')).toBe('ARG API_TOKEN=<redacted> VERSION=1 PUBLIC_KEY=k');
    expect(JSON.stringify(redactKeyInputs({ op: { env: ['GITHUB_TOKEN=ghp_x', 'A=1'], history: { created_by: '|1 GITHUB_TOKEN=ghp_x /bin/sh -c make' } } }))).not.toContain('ghp_x');
  });
});

describe('flag values', () => {
  it('parses sizes and durations the way docker does, and rejects the rest as usage errors', () => {
    expect(parseSize('512MB', '--keep-storage')).toBe(512 * 1024 ** 2);
    expect(parseSize('1.5g', '--keep-storage')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('0', '--keep-storage')).toBe(0);
    expect(() => parseSize('-1', '--keep-storage')).toThrow('invalid size "-1" for --keep-storage');
    expect(parseDuration('1h30m', 'until')).toBe(90 * 60_000);
    expect(parseDuration('7d', 'until')).toBe(7 * 86_400_000);
    expect(() => parseDuration('10', 'until')).toThrow('invalid duration "10" in until');
    expect(() => parseDuration('3 days', 'until')).toThrow('invalid duration');
  });
});
