import { BuildError, renderError } from '@tbuild/errors';
import { describe, expect, it } from 'vitest';
import { expandWord, expandWords, ShellExpansionError } from './index.ts';

const env = new Map([
  ['SET', 'value'],
  ['EMPTY', ''],
]);

function failure(word: string): ShellExpansionError {
  try {
    expandWord(word, env);
  } catch (e) {
    if (e instanceof ShellExpansionError) return e;
    throw e;
  }
  throw new Error(`expected ${word} to fail`);
}

// Reasons as BuildKit's lex.go (73ed6825) words them, checked by running it.
describe('error reasons', () => {
  it.each([
    ['${UNSET:?}', 'UNSET: is not allowed to be unset'],
    ['${UNSET?}', 'UNSET: is not allowed to be unset'],
    ['${EMPTY:?}', 'EMPTY: is not allowed to be empty'],
    ['${UNSET:?custom message $SET}', 'UNSET: custom message value'],
    ['${a:-${b:?oops}}x', 'b: oops'],
    ['${}', 'syntax error: bad substitution'],
    ['${:}', 'syntax error: bad substitution'],
    ['${:-x}', 'syntax error: bad substitution'],
    ['${{a}', 'syntax error: bad substitution'],
    ['${a:-b', "syntax error: missing '}'"],
    ['${a:-${b:?oops}', "syntax error: missing '}'"],
    ["${a:-'x}", "syntax error: missing '}'"],
    ['${a:}', "syntax error: missing '}'"],
    ['${a:', "syntax error: missing '}'"],
    ['${SET#\\}', "syntax error: missing '}'"],
    ['${#a}', 'unsupported modifier (a) in substitution'],
    ['${!a}', 'unsupported modifier (a) in substitution'],
    ['${a:0:2}', 'unsupported modifier (:0) in substitution'],
    ['${a:=x}', 'unsupported modifier (:=) in substitution'],
    ['${a=x}', 'unsupported modifier (=) in substitution'],
    ['${a^}', 'unsupported modifier (^) in substitution'],
    ['${a:#x}', 'unsupported modifier (:#) in substitution'],
    ['${a:%x}', 'unsupported modifier (:%) in substitution'],
    ['${.}', 'unsupported modifier (.) in substitution'],
    ['${a/x', "syntax error: missing '/' in ${}"],
    ['${a//x/y', "syntax error: missing '}'"],
    ['${SET#\\x}', "invalid pattern (\\x) in substitution: invalid escape '\\x'"],
    ['${SET%\\x}', "invalid pattern (\\x) in substitution: invalid escape '\\x'"],
    ['${SET/\\a/b}', "invalid pattern (\\a) in substitution: invalid escape '\\a'"],
    ["'abc", 'unexpected end of statement while looking for matching single-quote'],
    ['"abc', 'unexpected end of statement while looking for matching double-quote'],
    ['"abc\\"', 'unexpected end of statement while looking for matching double-quote'],
  ])('%s: %s', (word, reason) => {
    const e = failure(word);
    expect(e.reason).toBe(reason);
    expect(e.word).toBe(word);
  });

  it('says missing } where BuildKit prints a garbage modifier for ${NAME at the end', () => {
    // BuildKit: `unsupported modifier (\uFFFD) in substitution`.
    expect(failure('he${PWD').reason).toBe("syntax error: missing '}'");
    expect(failure('${a').reason).toBe("syntax error: missing '}'");
  });
});

describe('ShellExpansionError', () => {
  it("is a BuildError with code TB_PARSE_VARIABLE and BuildKit's full message", () => {
    const e = failure('a"b${X:?}');
    expect(e).toBeInstanceOf(BuildError);
    expect(e.code).toBe('TB_PARSE_VARIABLE');
    expect(e.message).toBe('failed to process "a\\"b${X:?}": X: is not allowed to be unset');
  });

  it('quotes the word like Go %q', () => {
    expect(failure('\t\u00a0\u0085\u0007😀"${}').message).toBe(
      'failed to process "\\t\\u00a0\\u0085\\a😀\\"${}": syntax error: bad substitution',
    );
  });

  it('shortens a huge word in the message but keeps it whole in .word', () => {
    const word = 'x'.repeat(1 << 20) + '${';
    const e = failure(word);
    expect(e.message).toBe(`failed to process "${'x'.repeat(200)}...": syntax error: missing '}'`);
    expect(e.word).toBe(word);
  });

  it('gives a hint for syntax mistakes but not for user messages', () => {
    expect(failure('${a^}').hint).toContain('${VAR:-word}');
    expect(failure('${a:-b').hint).toContain("'}'");
    expect(failure('${}').hint).toContain('\\$');
    expect(failure('${UNSET:?need it}').hint).toBeUndefined();
  });

  it('takes a location with at() and renders it', () => {
    const text = 'FROM scratch\nENV A=${B:?must be set}\n';
    const e = failure('${B:?must be set}').at({
      file: { path: 'Dockerfile', text },
      range: { start: { line: 2, column: 7, offset: 19 }, end: { line: 2, column: 24, offset: 36 } },
    });
    expect(e).toBeInstanceOf(ShellExpansionError);
    expect(e.location?.range.start.line).toBe(2);
    expect(e.reason).toBe('B: must be set');
    const shown = renderError(e);
    expect(shown).toContain('TB_PARSE_VARIABLE');
    expect(shown).toContain('Dockerfile:2');
  });

  it('fails expandWords the same way', () => {
    expect(() => expandWords('a ${b', env)).toThrow(ShellExpansionError);
  });

  it('turns absurd nesting into a user error instead of a stack overflow', () => {
    const depth = 20_000;
    const word = '${A:-'.repeat(depth) + 'x' + '}'.repeat(depth);
    expect(() => expandWord(word, env)).toThrow(/nested more than 500 deep/);
    expect(expandWord('${A:-'.repeat(100) + 'x' + '}'.repeat(100), env)).toBe('x');
  });
});
