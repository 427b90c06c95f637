import { describe, expect, it } from 'vitest';
import { expandWord, expandWords, expandWordWithMatches } from './index.ts';
import type { ShellOptions } from './index.ts';

// Expected values were checked against BuildKit's lex.go (73ed6825).
const env = new Map([
  ['SET', 'value'],
  ['EMPTY', ''],
  ['PATHV', '/usr/local/bin/tool.tar.gz'],
  ['SPACED', ' a  b '],
  ['STARS', 'a***yy*'],
  ['LINES', 'ab\ncd'],
  ['EMOJI', '😀x😀y'],
]);
const x = (word: string, opts?: ShellOptions): string => expandWord(word, env, opts);

describe('plain references', () => {
  it.each([
    ['$SET', 'value'],
    ['${SET}', 'value'],
    ['a${SET}b', 'avalueb'],
    ['$SET-x', 'value-x'],
    ['$UNSET', ''],
    ['${UNSET}x', 'x'],
    ['$', '$'],
    ['$.', '$.'],
    ['$(cmd)', '$(cmd)'],
    ['$1a', 'a'],
    ['$@x', 'x'],
    ['$$', ''],
    ['$SET_2', ''],
    ['${SET}${SET}', 'valuevalue'],
  ])('%s → %s', (word, expected) => {
    expect(x(word)).toBe(expected);
  });
});

describe('default, alternative and required operators', () => {
  it.each([
    ['${SET:-d}', 'value'],
    ['${EMPTY:-d}', 'd'],
    ['${UNSET:-d}', 'd'],
    ['${SET-d}', 'value'],
    ['${EMPTY-d}', ''],
    ['${UNSET-d}', 'd'],
    ['${SET:+alt}', 'alt'],
    ['${EMPTY:+alt}', ''],
    ['${UNSET:+alt}', ''],
    ['${SET+alt}', 'alt'],
    ['${EMPTY+alt}', 'alt'],
    ['${UNSET+alt}', ''],
    ['${SET:?msg}', 'value'],
    ['${SET?msg}', 'value'],
    ['${EMPTY?msg}', ''],
    ['${UNSET:-${SET}}', 'value'],
    ['${UNSET:-${UNSET2:-deep}}', 'deep'],
    ['${UNSET:-a b}', 'a b'],
    ['${UNSET:-"q}"}', 'q}'],
    ["${UNSET:-'$SET'}", '$SET'],
    ['${UNSET:-\\}}', '}'],
    ['${SET:+${SET}:}', 'value:'],
  ])('%s → %s', (word, expected) => {
    expect(x(word)).toBe(expected);
  });
});

describe('pattern operators', () => {
  it.each([
    ['${PATHV#*/}', 'usr/local/bin/tool.tar.gz'],
    ['${PATHV##*/}', 'tool.tar.gz'],
    ['${PATHV%.*}', '/usr/local/bin/tool.tar'],
    ['${PATHV%%.*}', '/usr/local/bin/tool'],
    ['${PATHV#/usr}', '/local/bin/tool.tar.gz'],
    ['${PATHV#nomatch}', '/usr/local/bin/tool.tar.gz'],
    ['${PATHV%/*/*}', '/usr/local'],
    ['${PATHV#?}', 'usr/local/bin/tool.tar.gz'],
    ['${PATHV/local/opt}', '/usr/opt/bin/tool.tar.gz'],
    ['${PATHV/\\//:}', ':usr/local/bin/tool.tar.gz'],
    ['${PATHV//\\//:}', ':usr:local:bin:tool.tar.gz'],
    ['${PATHV//[/x}', '/usr/local/bin/tool.tar.gz'],
    ['${PATHV/.*/}', '/usr/local/bin/tool'],
    ['${STARS%%\\**\\*}', 'a'],
    ['${STARS#a\\*}', '**yy*'],
    ['${UNSET#*}', ''],
    ['${UNSET//a/b}', ''],
    ['${EMOJI#?}', 'x😀y'],
    ['${EMOJI%?}', '😀x😀'],
    ['${EMOJI//?/.}', '....'],
    ['${SET#$EMPTY}', 'value'],
  ])('%s → %s', (word, expected) => {
    expect(x(word)).toBe(expected);
  });

  it('decides ## and %% on the expanded pattern, like BuildKit', () => {
    expect(expandWord('${V#$P}', new Map([['V', 'xxyy'], ['P', '#*x']]))).toBe('yy');
  });

  it('never lets * or ? match a newline (Go regexp `.`)', () => {
    expect(x('${LINES##*}')).toBe('\ncd');
    expect(x('${LINES%%*}')).toBe('ab\n');
    expect(x('${LINES#??}')).toBe('\ncd');
    expect(x('${LINES#???}')).toBe('ab\ncd');
    expect(x('${LINES//*/-}')).toBe('-\n-');
  });

  it('replaces empty matches the way Go ReplaceAllString does', () => {
    const v = new Map([['V', 'abc']]);
    expect(expandWord('${V//$E/-}', v)).toBe('-a-b-c-');
    expect(expandWord('${V/$E/-}', v)).toBe('-abc');
    expect(expandWord('${V//*/-}', v)).toBe('-');
    expect(expandWord('${V//b*/-}', v)).toBe('a-');
  });

  it('reads $ in a // replacement as a Go template: $$ is $, $0 is the match, others empty', () => {
    const v = new Map([['V', 'ab']]);
    // Quotes keep the shell from expanding `$0` itself; the quotes are then removed.
    expect(expandWord("${V//a/'$0$0'}", v)).toBe('aab');
    expect(expandWord("${V//a/'${0}'}", v)).toBe('ab');
    expect(expandWord("${V//a/'$$'}", v)).toBe('$b');
    expect(expandWord("${V//a/'$1'}", v)).toBe('b');
    expect(expandWord("${V//a/'${'}", v)).toBe('${b');
    // Operator words keep escape characters, so `\$0` is a backslash, then the match.
    expect(expandWord('${V//a/\\$0}', v)).toBe('\\ab');
    // A single / splices the replacement in verbatim.
    expect(expandWord("${V/a/'$0'}", v)).toBe('$0b');
  });
});

describe('quotes and escapes', () => {
  it.each([
    ["'$SET'", '$SET'],
    ['"$SET"', 'value'],
    ['"a\\"b"', 'a"b'],
    ['"a\\$SET"', 'a$SET'],
    ['"a\\\\b"', 'a\\b'],
    ['"a\\b"', 'a\\b'],
    ["'a\\b'", 'a\\b'],
    ['a\\b', 'ab'],
    ['a\\ b', 'a b'],
    ['\\$SET', '$SET'],
    ['\\${SET}', '${SET}'],
    ['end\\', 'end'],
    ['"it\'s"', "it's"],
    ["'say \"hi\"'", 'say "hi"'],
    ['""', ''],
    ['"${SET}s"', 'values'],
  ])('%s → %s', (word, expected) => {
    expect(x(word)).toBe(expected);
  });

  it('uses the backtick as escape character under `# escape=`', () => {
    const bt: ShellOptions = { escapeToken: '`' };
    expect(x('C:\\path`$SET', bt)).toBe('C:\\path$SET');
    expect(x('"a`"b"', bt)).toBe('a"b');
    expect(x('"a\\b"', bt)).toBe('a\\b');
    expect(x('a``b', bt)).toBe('a`b');
    expect(x('${PATHV##*/}', bt)).toBe('tool.tar.gz');
    expect(x('${UNSET:-`}}', bt)).toBe('}');
  });
});

describe('modes', () => {
  it('rawQuotes processes quotes but leaves them in place', () => {
    expect(x(`'$SET' "$SET" \\"`, { rawQuotes: true })).toBe(`'$SET' "value" "`);
    expect(expandWords(`a'b c'd "e f"`, env, { rawQuotes: true })).toEqual([`a'b c'd`, `"e f"`]);
  });

  it('keepQuotes treats quotes as ordinary characters (heredoc bodies)', () => {
    expect(x(`'$SET' "a b" it's`, { keepQuotes: true })).toBe(`'value' "a b" it's`);
    expect(expandWords(`'a b'`, env, { keepQuotes: true })).toEqual([`'a`, `b'`]);
  });

  it('keepEscapes leaves escape characters in the output', () => {
    expect(x('a\\$SET "\\$" \\', { keepEscapes: true })).toBe('a\\$SET \\$ \\');
  });

  it('skipUnsetEnv writes unset references back as they were', () => {
    const o: ShellOptions = { skipUnsetEnv: true };
    expect(x('$UNSET ${UNSET} $SET', o)).toBe('$UNSET ${UNSET} value');
    expect(x('${UNSET:-$SET} ${UNSET#*a}', o)).toBe('${UNSET:-value} ${UNSET#*a}');
    expect(x('${UNSET//a/b}', o)).toBe('${UNSET/a/b}');
    expect(x('${UNSET:?boom}', o)).toBe('${UNSET:?boom}');
    expect(x('${EMPTY:-d}', o)).toBe('d');
  });
});

describe('expandWords', () => {
  it.each([
    ['a b  c', ['a', 'b', 'c']],
    ['  lead trail  ', ['lead', 'trail']],
    ['x$SPACED', ['x', 'a', 'b']],
    ['x"$SPACED"', ['x a  b ']],
    ["'a b' c", ['a b', 'c']],
    ['a\\ b', ['a b']],
    ['""', []],
    ['', []],
    ['a\tb\nc', ['a', 'b', 'c']],
    ['a\u00a0b\u0085c\ufeffd', ['a', 'b', 'c\ufeffd']],
    ['cat <<  EOF', ['cat', '<<  EOF']],
  ])('%j → %j', (word, expected) => {
    expect(expandWords(word, env)).toEqual(expected);
  });

  it('keeps the text before an operator expansion in the same word', () => {
    // BuildKit 73ed6825 returns ['080/tcp']: its nested word processing resets the shared
    // word buffer. ProcessWord (one word) is unaffected; we deliberately do not copy this bug.
    expect(expandWords('8${UNSET:-0}80/tcp', env)).toEqual(['8080/tcp']);
    expect(expandWords('a${SET/v/V} b', env)).toEqual(['aValue', 'b']);
  });
});

describe('expandWordWithMatches', () => {
  it('reports found and missing names, including ones only used in operators', () => {
    const r = expandWordWithMatches('${SET:-a} ${EMPTY-b} ${NOPE:-c} $1 ${X:+$SET}', env);
    expect(r.value).toBe('value  c  ');
    expect([...r.matched].sort()).toEqual(['EMPTY', 'SET']);
    expect([...r.unmatched].sort()).toEqual(['1', 'NOPE', 'X']);
  });

  it('counts names in an operator word even when the operator does not use it', () => {
    const r = expandWordWithMatches('${SET:-$NOPE}', env);
    expect(r.value).toBe('value');
    expect([...r.matched]).toEqual(['SET']);
    expect([...r.unmatched]).toEqual(['NOPE']);
  });

  it('accepts any VarLookup, not only Map', () => {
    const lookup = { get: (name: string) => (name === 'A' ? 'from-lookup' : undefined) };
    expect(expandWord('${A}-${B:-b}', lookup)).toBe('from-lookup-b');
  });
});
