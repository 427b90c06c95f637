/** The typed AST: one block per instruction, then source ranges, directives and line rules. */
import { describe, expect, it } from 'vitest';
import type { SourceRange } from '@tbuild/errors';
import type { Dockerfile, Instruction } from '../src/index.ts';
import { parse } from '../src/index.ts';

function parsed(text: string): Dockerfile {
  const r = parse(text);
  expect(r.errors.map((e) => e.message)).toEqual([]);
  return r.dockerfile;
}

/** The instructions of `FROM scratch\n<body>`, minus the FROM. */
function body(text: string): Instruction[] {
  return parsed(`FROM scratch\n${text}`).instructions.slice(1);
}

/** The instruction type(s) whose keyword may be K (COPY and ADD share one type). */
type ByKeyword<K> = Instruction extends infer I ? (I extends { keyword: infer W } ? (K extends W ? I : never) : never) : never;

function only<K extends Instruction['keyword']>(text: string, keyword: K): ByKeyword<K> {
  const [i] = body(text);
  expect(i?.keyword).toBe(keyword);
  return i as ByKeyword<K>;
}

/** The source text a range covers. */
function at(df: Dockerfile, r: SourceRange): string {
  return df.source!.text.slice(r.start.offset, r.end.offset);
}

describe('instructions', () => {
  it('FROM with --platform and AS name', () => {
    const df = parsed('FROM --platform=linux/arm64 golang:1.22 AS Build\n');
    const from = df.instructions[0]!;
    expect(from).toMatchObject({
      keyword: 'FROM',
      image: { value: 'golang:1.22' },
      stageName: { value: 'Build' },
      platform: { name: 'platform', value: 'linux/arm64' },
      original: 'FROM --platform=linux/arm64 golang:1.22 AS Build',
    });
    if (from.keyword !== 'FROM') return;
    expect(at(df, from.image.range)).toBe('golang:1.22');
    expect(at(df, from.stageName!.range)).toBe('Build');
    expect(at(df, from.platform!.range)).toBe('--platform=linux/arm64');
    expect(at(df, from.keywordRange)).toBe('FROM');
  });

  it('FROM image only; "as" in any case', () => {
    expect(parsed('FROM alpine').instructions[0]).toMatchObject({ image: { value: 'alpine' } });
    expect(parsed('from alpine as base').instructions[0]).toMatchObject({ stageName: { value: 'base' } });
  });

  it('RUN shell form keeps the text verbatim; exec form decodes JSON', () => {
    expect(only('RUN echo "a  b" \\\n  && ls', 'RUN').command).toMatchObject({ form: 'shell', text: 'echo "a  b"   && ls' });
    expect(only('RUN ["sh", "-c", "echo \\"hi\\"\\n"]', 'RUN').command).toMatchObject({ form: 'exec', args: ['sh', '-c', 'echo "hi"\n'] });
  });

  it('RUN --mount (repeatable), --network, --security', () => {
    const run = only('RUN --mount=type=cache,target=/root/.cache --mount=type=secret,id=npm --network=none --security=insecure make', 'RUN');
    expect(run.mounts.map((m) => m.value)).toEqual(['type=cache,target=/root/.cache', 'type=secret,id=npm']);
    expect(run.network).toMatchObject({ value: 'none' });
    expect(run.security).toMatchObject({ value: 'insecure' });
    expect(run.command).toMatchObject({ form: 'shell', text: 'make' });
  });

  it('a JSON-looking text that is not valid JSON is shell form', () => {
    for (const t of ["['a', 'b']", '["a", "b"', '["a" "b"]', '[1,]', '["a"] trailing']) {
      expect(only(`CMD ${t}`, 'CMD').command).toMatchObject({ form: 'shell', text: t });
    }
  });

  it('CMD and ENTRYPOINT, both forms; empty JSON array', () => {
    expect(only('CMD ["nginx", "-g", "daemon off;"]', 'CMD').command).toMatchObject({ form: 'exec', args: ['nginx', '-g', 'daemon off;'] });
    expect(only('ENTRYPOINT exec top -b', 'ENTRYPOINT').command).toMatchObject({ form: 'shell', text: 'exec top -b' });
    expect(only('ENTRYPOINT []', 'ENTRYPOINT').command).toMatchObject({ form: 'exec', args: [] });
  });

  it('SHELL takes JSON only', () => {
    expect(only('SHELL ["powershell", "-command"]', 'SHELL').args).toEqual(['powershell', '-command']);
  });

  it('LABEL pairs keep quotes in raw values', () => {
    const label = only('LABEL "com.example.vendor"="ACME Inc" version=1.0 description="a \\"b\\" c"', 'LABEL');
    expect(label.pairs.map((p) => [p.key.value, p.value.value, p.legacy])).toEqual([
      ['"com.example.vendor"', '"ACME Inc"', false],
      ['version', '1.0', false],
      ['description', '"a \\"b\\" c"', false],
    ]);
  });

  it('ENV key=value pairs and the legacy form', () => {
    const env = only('ENV A=1 B="two words" C=', 'ENV');
    expect(env.pairs.map((p) => [p.key.value, p.value.value, p.legacy])).toEqual([
      ['A', '1', false],
      ['B', '"two words"', false],
      ['C', '', false],
    ]);
    const legacy = only('ENV PATH /usr/local/bin:$PATH  extra', 'ENV');
    expect(legacy.pairs.map((p) => [p.key.value, p.value.value, p.legacy])).toEqual([['PATH', '/usr/local/bin:$PATH  extra', true]]);
  });

  it('MAINTAINER, USER, WORKDIR, STOPSIGNAL take the rest of the line as one string', () => {
    expect(only('MAINTAINER Jane Doe <jane@example.com>', 'MAINTAINER').name.value).toBe('Jane Doe <jane@example.com>');
    expect(only('USER app:app', 'USER').user.value).toBe('app:app');
    expect(only('WORKDIR /my app', 'WORKDIR').path.value).toBe('/my app');
    expect(only('STOPSIGNAL SIGTERM', 'STOPSIGNAL').signal.value).toBe('SIGTERM');
  });

  it('EXPOSE keeps the ports in the order written', () => {
    expect(only('EXPOSE 8080/tcp 53/udp 80', 'EXPOSE').ports.map((p) => p.value)).toEqual(['8080/tcp', '53/udp', '80']);
  });

  it('COPY with every flag; ADD-only flags', () => {
    const copy = only('COPY --from=build --chown=1000:1000 --chmod=0644 --link --parents --exclude=*.md --exclude=*.txt a b /dst/', 'COPY');
    expect(copy.sources.map((s) => s.value)).toEqual(['a', 'b']);
    expect(copy.destination.value).toBe('/dst/');
    expect(copy.json).toBe(false);
    expect(copy.copyFlags).toMatchObject({
      from: { value: 'build' },
      chown: { value: '1000:1000' },
      chmod: { value: '0644' },
      link: { name: 'link', value: undefined },
      parents: { name: 'parents' },
    });
    expect(copy.copyFlags.exclude.map((f) => f.value)).toEqual(['*.md', '*.txt']);
    const add = only('ADD --checksum=sha256:abc --keep-git-dir=true --unpack=false https://example.com/a.tar.gz /x/', 'ADD');
    expect(add.copyFlags).toMatchObject({ checksum: { value: 'sha256:abc' }, keepGitDir: { value: 'true' }, unpack: { value: 'false' } });
  });

  it('COPY JSON form keeps spaces in paths', () => {
    const copy = only('COPY ["my file.txt", "/dst dir/"]', 'COPY');
    expect(copy.json).toBe(true);
    expect(copy.sources.map((s) => s.value)).toEqual(['my file.txt']);
    expect(copy.destination.value).toBe('/dst dir/');
  });

  it('VOLUME JSON and plain', () => {
    expect(only('VOLUME ["/data", "/logs"]', 'VOLUME').paths.map((p) => p.value)).toEqual(['/data', '/logs']);
    expect(only('VOLUME /data /logs', 'VOLUME').paths.map((p) => p.value)).toEqual(['/data', '/logs']);
  });

  it('ARG: several per line, with and without defaults, quotes kept', () => {
    const arg = only('ARG A B=2 C="x y" D=', 'ARG');
    expect(arg.args.map((a) => [a.name.value, a.defaultValue?.value])).toEqual([
      ['A', undefined],
      ['B', '2'],
      ['C', '"x y"'],
      ['D', ''],
    ]);
  });

  it('global ARGs before the first FROM are kept in order', () => {
    const df = parsed('ARG VERSION=1\nARG BASE\nFROM alpine:${VERSION}\n');
    expect(df.instructions.map((i) => i.keyword)).toEqual(['ARG', 'ARG', 'FROM']);
  });

  it('ONBUILD wraps a parsed trigger and keeps its expression', () => {
    const onbuild = only('ONBUILD COPY --chown=app . /app/src', 'ONBUILD');
    expect(onbuild.expression).toBe('COPY --chown=app . /app/src');
    expect(onbuild.trigger).toMatchObject({ keyword: 'COPY', destination: { value: '/app/src' }, copyFlags: { chown: { value: 'app' } } });
  });

  it('HEALTHCHECK NONE and CMD with Go durations in nanoseconds', () => {
    expect(only('HEALTHCHECK NONE', 'HEALTHCHECK')).toMatchObject({ kind: 'none' });
    const hc = only(
      'HEALTHCHECK --interval=1m30s --timeout=3s --start-period=1.5s --start-interval=500ms --retries=3 CMD curl -f http://localhost/',
      'HEALTHCHECK',
    );
    expect(hc).toMatchObject({
      kind: 'cmd',
      command: { form: 'shell', text: 'curl -f http://localhost/' },
      interval: 90e9,
      timeout: 3e9,
      startPeriod: 1.5e9,
      startInterval: 500e6,
      retries: 3,
    });
    expect(only('HEALTHCHECK CMD ["/bin/check", "--quiet"]', 'HEALTHCHECK').command).toMatchObject({ form: 'exec', args: ['/bin/check', '--quiet'] });
    const zero = only('HEALTHCHECK --interval=0 --retries=0 CMD true', 'HEALTHCHECK');
    expect([zero.interval, zero.retries, zero.timeout]).toEqual([0, 0, undefined]);
  });

  it('keywords in any case are canonical upper case; flags are kept as written', () => {
    const [run] = body('rUn --network=host echo');
    expect(run).toMatchObject({ keyword: 'RUN', flags: [{ name: 'network', value: 'host' }] });
  });

  it('comments directly above an instruction are kept', () => {
    const df = parsed('# base image\nFROM alpine\n\n# build it\n# twice\nRUN make\n');
    expect(df.instructions.map((i) => i.comments)).toEqual([['base image'], ['build it', 'twice']]);
  });
});

describe('source ranges', () => {
  it('every word and flag range covers exactly its text', () => {
    const text = 'FROM alpine AS base\nCOPY --chown=a:b src/ /dst/\nENV A=1 B="x y"\nARG N=3 M\nEXPOSE 80 443\n';
    const df = parsed(text);
    const [, copy, env, arg, expose] = df.instructions;
    if (copy?.keyword !== 'COPY' || env?.keyword !== 'ENV' || arg?.keyword !== 'ARG' || expose?.keyword !== 'EXPOSE') throw new Error('shape');
    expect(at(df, copy.flags[0]!.range)).toBe('--chown=a:b');
    expect(at(df, copy.sources[0]!.range)).toBe('src/');
    expect(at(df, copy.destination.range)).toBe('/dst/');
    expect(env.pairs.map((p) => [at(df, p.key.range), at(df, p.value.range)])).toEqual([
      ['A', '1'],
      ['B', '"x y"'],
    ]);
    expect(arg.args.map((a) => [at(df, a.name.range), a.defaultValue && at(df, a.defaultValue.range)])).toEqual([
      ['N', '3'],
      ['M', undefined],
    ]);
    expect(expose.ports.map((p) => at(df, p.range))).toEqual(['80', '443']);
  });

  it('positions are 1-based line/column and 0-based offsets, half-open', () => {
    const df = parsed('FROM a\n  RUN  echo hi\n');
    const run = df.instructions[1]!;
    expect(run.keywordRange).toEqual({ start: { line: 2, column: 3, offset: 9 }, end: { line: 2, column: 6, offset: 12 } });
    expect(run.range).toEqual({ start: { line: 2, column: 3, offset: 9 }, end: { line: 2, column: 15, offset: 21 } });
  });

  it('a word continued over lines spans them; the instruction range covers every line', () => {
    const df = parsed('FROM a\nRUN echo one \\\n    two \\\n    three\n');
    const run = df.instructions[1]!;
    if (run.keyword !== 'RUN') throw new Error('shape');
    expect(run.command.range.start).toMatchObject({ line: 2, column: 5 });
    expect(run.command.range.end).toMatchObject({ line: 4, column: 10 });
    expect(run.range.end).toMatchObject({ line: 4, column: 10 });
  });

  it('exec-form elements and COPY JSON sources have their own ranges', () => {
    const df = parsed('FROM a\nCOPY [ "a b", "/c" ]\n');
    const copy = df.instructions[1]!;
    if (copy.keyword !== 'COPY') throw new Error('shape');
    expect(at(df, copy.sources[0]!.range)).toBe('"a b"');
    expect(at(df, copy.destination.range)).toBe('"/c"');
  });

  it('CRLF line endings: ranges exclude the \\r', () => {
    const df = parsed('FROM a\r\nRUN x \\\r\n  y\r\n');
    const run = df.instructions[1]!;
    if (run.keyword !== 'RUN') throw new Error('shape');
    expect(run.command).toMatchObject({ text: 'x   y' });
    expect(at(df, run.range)).toBe('RUN x \\\r\n  y');
  });

  it('a leading BOM is dropped; ranges refer to dockerfile.source.text', () => {
    const df = parsed('\ufeffFROM alpine\n');
    expect(df.source!.text).toBe('FROM alpine\n');
    expect(df.instructions[0]!.keywordRange.start).toEqual({ line: 1, column: 1, offset: 0 });
  });

  it('a missing final newline is fine', () => {
    const df = parsed('FROM a\nCMD ["x"]');
    expect(df.instructions[1]!.range.end).toMatchObject({ line: 2, column: 10 });
  });
});

describe('directives and line rules', () => {
  it('reads syntax, escape and check from the leading comment block', () => {
    const df = parsed('# syntax=docker/dockerfile:1\n#check=skip=all;error=true\n# ESCAPE = `\nFROM a\nRUN echo a `\n  b\n');
    expect(df.directives).toEqual({ syntax: 'docker/dockerfile:1', check: 'skip=all;error=true', escape: '`' });
    const run = df.instructions[1]!;
    expect(run.keyword === 'RUN' && run.command).toMatchObject({ text: 'echo a   b' });
  });

  it('a directive after another comment, a blank line or an instruction is just a comment', () => {
    expect(parsed('# hello\n# escape=`\nFROM a\n').directives.escape).toBe('\\');
    expect(parsed('\n# escape=`\nFROM a\n').directives.escape).toBe('\\');
    expect(parsed('FROM a\n# escape=`\n').directives.escape).toBe('\\');
  });

  it('with the backtick escape, backslashes are ordinary characters', () => {
    const df = parsed('# escape=`\nFROM mcr.microsoft.com/windows\nCOPY testfile.txt c:\\\nRUN dir c:\\\n');
    expect(df.instructions.map((i) => i.original)).toEqual(['FROM mcr.microsoft.com/windows', 'COPY testfile.txt c:\\', 'RUN dir c:\\']);
  });

  it('comment lines inside a continuation are dropped; leading whitespace of continued lines kept', () => {
    const df = parsed('FROM a\nRUN apt-get update && \\\n# a comment\n    apt-get install -y x\n');
    const run = df.instructions[1]!;
    expect(run.keyword === 'RUN' && run.command).toMatchObject({ text: 'apt-get update &&     apt-get install -y x' });
  });

  it('an empty line inside a continuation gives a warning, not an error', () => {
    const r = parse('FROM a\nRUN a \\\n\n  b\n');
    expect(r.errors).toEqual([]);
    expect(r.warnings.map((w) => [w.code, w.severity, w.location?.range.start.line])).toEqual([['TB_PARSE_EMPTY_CONTINUATION', 'warning', 3]]);
  });

  it('a continuation at end of file ends the instruction', () => {
    const df = parsed('FROM a\nRUN echo \\');
    expect(df.instructions[1]).toMatchObject({ command: { text: 'echo' } }); // the rest is trimmed
  });

  it('`#` after the start of a line is not a comment', () => {
    const df = parsed('FROM a\nRUN echo # not a comment\n');
    expect(df.instructions[1]).toMatchObject({ command: { text: 'echo # not a comment' } });
  });

  it('lines of more than 65535 bytes are errors; 65535 bytes is fine', () => {
    const fits = 'FROM a\nLABEL x=' + 'y'.repeat(65535 - 8) + '\n';
    expect(parse(fits).errors).toEqual([]);
    const tooLong = 'FROM a\nLABEL x=' + 'y'.repeat(65536 - 8) + '\n';
    expect(parse(tooLong).errors.map((e) => [e.message, e.location?.range.start.line])).toEqual([
      ['dockerfile line greater than max allowed size of 65535', 2],
    ]);
    // Bytes, not characters: 21846 three-byte characters are 65538 bytes.
    expect(parse('FROM a\nLABEL x=' + '€'.repeat(21846)).errors[0]?.code).toBe('TB_PARSE_LINE_TOO_LONG');
  });
});

describe('command ranges', () => {
  it('cover the shell text or the whole JSON array', () => {
    const df = parsed('FROM a\nRUN ["a", "b"]\nCMD echo hi\nHEALTHCHECK --retries=1 CMD ["x"]\nHEALTHCHECK CMD  curl x\nENTRYPOINT []\n');
    const commands = df.instructions.slice(1).map((i) => ('command' in i && i.command ? at(df, i.command.range) : undefined));
    expect(commands).toEqual(['["a", "b"]', 'echo hi', '["x"]', 'curl x', '[]']);
  });
});
