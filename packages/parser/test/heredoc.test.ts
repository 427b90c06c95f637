/**
 * Heredocs. The first block is BuildKit's TestParseExtractsHeredoc input
 * (frontend/dockerfile/parser/parser_heredoc_test.go) with its expectations; tbuild's AST
 * stores bodies with tabs already stripped for `<<-`, as the Dockerfile reference describes
 * ("leading tab characters are stripped from the heredoc body and the delimiter line").
 */
import { describe, expect, it } from 'vitest';
import type { CopyInstruction, Heredoc, RunInstruction } from '../src/index.ts';
import { dumpBuildkit, parse } from '../src/index.ts';

function ok(text: string) {
  const r = parse(text);
  expect(r.errors.map((e) => e.message)).toEqual([]);
  return r.dockerfile.instructions;
}

type Doc = Pick<Heredoc, 'name' | 'content' | 'expand' | 'chomp'> & { fileDescriptor?: number };
const docs = (hs: Heredoc[]): Doc[] =>
  hs.map((h) => ({
    name: h.name,
    content: h.content,
    expand: h.expand,
    chomp: h.chomp,
    ...(h.fileDescriptor !== undefined ? { fileDescriptor: h.fileDescriptor } : {}),
  }));
const d = (name: string, content: string, expand = true, chomp = false): Doc => ({ name, content, expand, chomp });

describe('BuildKit TestParseExtractsHeredoc', () => {
  const text = [
    '',
    'FROM alpine:3.6',
    '',
    'ENV NAME=me',
    '',
    'RUN ls',
    '',
    'USER <<INVALID',
    'INVALID',
    '',
    'RUN <<EMPTY',
    'EMPTY',
    '',
    'RUN 3<<EMPTY2',
    'EMPTY2',
    '',
    'RUN "<<NOHEREDOC"',
    '',
    'RUN <<INDENT',
    '\tfoo',
    '\tbar',
    'INDENT',
    '',
    'RUN <<-UNINDENT',
    '\tbaz',
    '\tquux',
    'UNINDENT',
    '',
    'RUN <<-UNINDENT2',
    '\tbaz',
    '\tquux',
    '\tUNINDENT2',
    '',
    'RUN <<-EXPAND',
    '\texpand $NAME',
    'EXPAND',
    '',
    "RUN <<-'NOEXPAND'",
    "\tdon't expand $NAME",
    'NOEXPAND',
    '',
    'RUN <<COPY',
    'echo hello world',
    'echo foo bar',
    'COPY',
    '',
    'RUN <<COMMENT',
    '# internal comment',
    'echo hello world',
    'echo foo bar # trailing comment',
    'COMMENT',
    '',
    'RUN --mount=type=cache,target=/foo <<MOUNT',
    'echo hello',
    'MOUNT',
    '',
    'COPY <<FILE1 <<FILE2 /dest',
    'content 1',
    'FILE1',
    'content 2',
    'FILE2',
    '',
    'COPY <<EOF /quotes',
    '"foo"',
    "'bar'",
    'EOF',
    '',
    'COPY <<X <<Y /dest',
    'Y',
    'X',
    'X',
    'Y',
    '',
    'RUN <<COMPLEX python3',
    "print('hello world')",
    'COMPLEX',
    '',
    'COPY <<file.txt /dest',
    'hello world',
    'file.txt',
    '',
    "RUN <<eo'f'",
    'echo foo',
    'eof',
    '',
    "RUN <<eo\\'f",
    'echo foo',
    "eo'f",
    '',
    "RUN <<'e'o\\'f",
    'echo foo',
    "eo'f",
    '',
    "RUN <<'one two'",
    'echo bar',
    'one two',
    '',
    'RUN <<$EOF',
    '$EOF',
    '',
    'RUN <<  EOF',
    'EOF',
    '',
    'RUN <<  EOF  > foo',
    'EOF',
    '\t',
  ].join('\n');

  const expected: Doc[][] = [
    [], // ENV NAME=me
    [], // RUN ls
    [], // USER <<INVALID: USER takes no heredoc...
    // ...so the next line, INVALID, is an instruction of its own (and an unknown one).
    [{ ...d('EMPTY', '') }],
    [{ ...d('EMPTY2', ''), fileDescriptor: 3 }],
    [], // RUN "<<NOHEREDOC"
    [d('INDENT', '\tfoo\n\tbar\n')],
    [d('UNINDENT', 'baz\nquux\n', true, true)],
    [d('UNINDENT2', 'baz\nquux\n', true, true)],
    [d('EXPAND', 'expand $NAME\n', true, true)],
    [d('NOEXPAND', "don't expand $NAME\n", false, true)],
    [d('COPY', 'echo hello world\necho foo bar\n')],
    [d('COMMENT', '# internal comment\necho hello world\necho foo bar # trailing comment\n')],
    [d('MOUNT', 'echo hello\n')],
    [d('FILE1', 'content 1\n'), d('FILE2', 'content 2\n')],
    [d('EOF', '"foo"\n\'bar\'\n')],
    [d('X', 'Y\n'), d('Y', 'X\n')],
    [d('COMPLEX', "print('hello world')\n")],
    [d('file.txt', 'hello world\n')],
    [d('eof', 'echo foo\n', false)],
    [d("eo'f", 'echo foo\n', true)],
    [d("eo'f", 'echo foo\n', false)],
    [d('one two', 'echo bar\n', false)],
    [d('$EOF', '')],
    [d('EOF', '')],
    [d('EOF', '')],
  ];

  it('extracts the same heredocs as BuildKit', () => {
    const r = parse(text);
    // The only error is the stray INVALID line (USER does not take heredocs).
    expect(r.errors.map((e) => [e.message, e.location?.range.start.line])).toEqual([['unknown instruction: INVALID', 9]]);
    const got = r.dockerfile.instructions.slice(1).map((i) => ('heredocs' in i ? docs(i.heredocs) : []));
    expect(got).toEqual(expected);
  });

  it('keeps the dump format: heredoc bodies are not dumped', () => {
    const dump = dumpBuildkit(text).split('\n');
    expect(dump[5]).toBe('(run "<<EMPTY")');
    expect(dump).toContain('(copy "<<FILE1" "<<FILE2" "/dest")');
    expect(dump).toContain('(run "<<  EOF  > foo")');
  });
});

describe('BuildKit TestParseJSONHeredoc: no heredocs in exec form', () => {
  it.each(['RUN ["whoami"]', 'RUN ["<<EOF"]', `RUN ["<<'EOF'"]`])('%s', (line) => {
    const [, run] = ok(`FROM alpine\n${line}\nEOF\nFROM x\n`.replace('\nEOF\nFROM x', '\nFROM x'));
    expect((run as RunInstruction).heredocs).toEqual([]);
    expect((run as RunInstruction).command.form).toBe('exec');
  });

  it('so a following EOF line is an instruction, not a terminator', () => {
    const r = parse('FROM alpine\nRUN ["<<EOF"]\nEOF\n');
    expect(r.errors.map((e) => e.message)).toEqual(['unknown instruction: EOF']);
  });
});

describe('heredoc forms from the Dockerfile reference', () => {
  it('RUN <<EOF runs a script; the command text is the heredoc word', () => {
    const [, run] = ok('FROM debian\nRUN <<EOF\napt-get update\napt-get install -y curl\nEOF\n') as [unknown, RunInstruction];
    expect(run.command).toMatchObject({ form: 'shell', text: '<<EOF' });
    expect(docs(run.heredocs)).toEqual([d('EOF', 'apt-get update\napt-get install -y curl\n')]);
    expect(run.range.start.line).toBe(2);
    expect(run.range.end.line).toBe(5);
    expect(run.heredocs[0]!.range.start).toMatchObject({ line: 3, column: 1 });
    expect(run.heredocs[0]!.range.end).toMatchObject({ line: 5, column: 4 });
  });

  it('RUN <<EOF bash, with a program after the redirection', () => {
    const [, run] = ok('FROM debian\nRUN python3 <<EOF\nprint("hi")\nEOF\n') as [unknown, RunInstruction];
    expect(run.command).toMatchObject({ form: 'shell', text: 'python3 <<EOF' });
    expect(run.heredocs.map((h) => h.name)).toEqual(['EOF']);
  });

  it('several heredocs on one line are read in order', () => {
    const [, run] = ok('FROM debian\nRUN <<FILE1 cat > file1 && <<FILE2 cat > file2\nI am\nfirst\nFILE1\nI am\nsecond\nFILE2\n') as [
      unknown,
      RunInstruction,
    ];
    expect(docs(run.heredocs)).toEqual([d('FILE1', 'I am\nfirst\n'), d('FILE2', 'I am\nsecond\n')]);
  });

  it('a file descriptor prefix: 3<<EOF', () => {
    const [, run] = ok('FROM debian\nRUN cat 3<<EOF\nx\nEOF\n') as [unknown, RunInstruction];
    expect(run.heredocs[0]!.fileDescriptor).toBe(3);
  });

  it('<<-EOF strips leading tabs from body and terminator, not spaces', () => {
    const [, run] = ok('FROM debian\nRUN <<-EOF\n\t\techo a\n  echo b\n\tEOF\n') as [unknown, RunInstruction];
    expect(run.heredocs[0]!.content).toBe('echo a\n  echo b\n');
    expect(run.heredocs[0]!.chomp).toBe(true);
  });

  it('quoted delimiters disable expansion: <<"EOF", <<\'EOF\' and partly quoted <<E"O"F', () => {
    for (const word of ['"EOF"', "'EOF'", 'E"O"F']) {
      const [, run] = ok(`FROM debian\nRUN <<${word}\necho $HOME\nEOF\n`) as [unknown, RunInstruction];
      expect(run.heredocs[0]).toMatchObject({ name: 'EOF', expand: false, content: 'echo $HOME\n' });
    }
  });

  it('COPY heredoc sources carry their heredoc; the destination stays a path', () => {
    const [, copy] = ok('FROM alpine\nCOPY <<EOF /app/config.json\n{"a": 1}\nEOF\n') as [unknown, CopyInstruction];
    expect(copy.sources.map((s) => s.value)).toEqual(['<<EOF']);
    expect(copy.sources[0]!.heredoc).toMatchObject({ name: 'EOF', content: '{"a": 1}\n', expand: true });
    expect(copy.destination.value).toBe('/app/config.json');
    expect(copy.heredocs.map((h) => h.name)).toEqual(['EOF']);
  });

  it('ADD takes heredocs too, and a COPY mixing paths and heredocs marks only the heredocs', () => {
    const [, add, copy] = ok('FROM alpine\nADD <<A /a\nx\nA\nCOPY ./file <<B /dst/\ny\nB\n') as [unknown, CopyInstruction, CopyInstruction];
    expect(add.sources[0]!.heredoc?.content).toBe('x\n');
    expect(copy.sources.map((s) => [s.value, s.heredoc?.name])).toEqual([
      ['./file', undefined],
      ['<<B', 'B'],
    ]);
  });

  it('a heredoc inside a continued line starts after the last continued line', () => {
    const [, run] = ok('FROM alpine\nRUN cat <<EOF \\\n  > /out && \\\n  echo done\nbody\nEOF\n') as [unknown, RunInstruction];
    expect(run.command).toMatchObject({ text: 'cat <<EOF   > /out &&   echo done' });
    expect(run.heredocs[0]!.content).toBe('body\n');
    expect(run.range.end.line).toBe(6);
  });

  it('body lines are raw: no comments removed, no continuation joined, CRLF kept', () => {
    const [, run] = ok('FROM alpine\r\nRUN <<EOF\r\n# not a comment \\\r\nnext\r\nEOF\r\n') as [unknown, RunInstruction];
    expect(run.heredocs[0]!.content).toBe('# not a comment \\\r\nnext\r\n');
  });

  it('ONBUILD RUN <<EOF: the trigger gets the heredoc and the expression carries the body', () => {
    const [, onbuild] = ok('FROM alpine\nONBUILD RUN <<EOF\necho hi\nEOF\n');
    expect(onbuild!.keyword).toBe('ONBUILD');
    if (onbuild!.keyword !== 'ONBUILD') return;
    expect(onbuild.expression).toBe('RUN <<EOF\necho hi\nEOF');
    expect((onbuild.trigger as RunInstruction).heredocs.map((h) => h.content)).toEqual(['echo hi\n']);
  });
});

describe('heredoc errors', () => {
  it('unterminated heredoc points at the <<EOF word', () => {
    const r = parse('FROM alpine\nRUN <<EOF\necho hi\n');
    expect(r.errors.map((e) => [e.message, e.location?.range.start.line, e.location?.range.start.column, e.location?.range.end.column])).toEqual([
      ['unterminated heredoc', 2, 5, 10],
    ]);
    expect(r.errors[0]!.hint).toBe('end the body with a line holding only "EOF"');
  });

  it('an indented terminator gets a hint naming the line (BuildKit issue 5265)', () => {
    const r = parse('FROM alpine\nRUN <<EOF\necho hi\n  EOF\n');
    expect(r.errors[0]!.message).toBe('unterminated heredoc');
    expect(r.errors[0]!.hint).toBe('line 4 holds "EOF" with extra whitespace; the terminator must be exactly "EOF" (<<-EOF also allows leading tabs)');
  });

  it('a heredoc as COPY destination is an error', () => {
    const r = parse('FROM alpine\nCOPY <<A <<B\na\nA\nb\nB\n');
    expect(r.errors.map((e) => e.message)).toEqual(['COPY cannot accept a heredoc as a destination']);
  });

  it('"<<- EOF" with a space is not a heredoc (as in BuildKit) and gets a warning', () => {
    const r = parse('FROM alpine\nRUN <<- EOF\necho hi\nEOF\n');
    expect(r.warnings.map((w) => w.code)).toEqual(['TB_PARSE_HEREDOC_SPACE']);
    expect(r.errors.map((e) => e.message)).toEqual(['unknown instruction: echo', 'unknown instruction: EOF']);
  });

  it('"<< EOF" with a space after << is a heredoc', () => {
    const [, run] = ok('FROM alpine\nRUN << EOF\necho hi\nEOF\n') as [unknown, RunInstruction];
    expect(run.heredocs.map((h) => h.name)).toEqual(['EOF']);
  });

  it('an unterminated quote anywhere on the line means no heredocs, as in BuildKit', () => {
    const r = parse('FROM alpine\nRUN <<EOF echo "oops\nEOF\n');
    expect(r.errors.map((e) => e.message)).toEqual(['unknown instruction: EOF']);
  });
});
