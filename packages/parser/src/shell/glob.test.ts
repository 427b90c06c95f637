import { describe, expect, it } from 'vitest';
import { compileGlob, GlobMatcher, replaceAll, replaceFirst, trimPrefix, trimSuffix } from './glob.ts';
import { ShellSyntaxFailure } from './errors.ts';

const find = (pattern: string, s: string, greedy = true, anchored = false) =>
  new GlobMatcher(compileGlob(pattern), greedy).find(s, 0, anchored);

describe('compileGlob', () => {
  it('accepts \\*, \\?, \\\\ and drops the backslash of \\} and \\/', () => {
    expect(find('\\*\\?\\\\', 'x*?\\y')).toEqual([1, 4]);
    expect(find('a\\}b\\/c', '-a}b/c')).toEqual([1, 6]);
  });

  it.each([
    ['\\x', "invalid escape '\\x'"],
    ['a\\', "invalid escape '\\%!c(int=-1)'"],
    ['\\\\\\', "invalid escape '\\%!c(int=-1)'"],
  ])('rejects %s', (pattern, reason) => {
    expect(() => compileGlob(pattern)).toThrow(new ShellSyntaxFailure(reason));
  });

  it('treats regexp metacharacters as literals', () => {
    expect(find('(a|b).[c]+{2}^$', 'x(a|b).[c]+{2}^$')).toEqual([1, 16]);
    expect(find('a.c', 'abc')).toBeUndefined();
  });
});

describe('GlobMatcher (Go leftmost-first semantics)', () => {
  it('finds the leftmost match, then prefers longer stars when greedy', () => {
    expect(find('a*b', 'xaabab')).toEqual([1, 6]);
    expect(find('a*b', 'xaabab', false)).toEqual([1, 4]);
    expect(find('*', 'abc')).toEqual([0, 3]);
    expect(find('*', 'abc', false)).toEqual([0, 0]);
  });

  it('anchors at the start when asked', () => {
    expect(find('b', 'ab', true, true)).toBeUndefined();
    expect(find('?b', 'ab', true, true)).toEqual([0, 2]);
  });

  it('never lets * or ? cross a newline, but a literal newline matches', () => {
    expect(find('a*c', 'ab\nc')).toBeUndefined();
    expect(find('a?c', 'a\nc')).toBeUndefined();
    expect(find('a\nc', 'a\nc')).toEqual([0, 3]);
    expect(find('*', 'ab\ncd')).toEqual([0, 2]);
  });

  it('counts astral characters as one', () => {
    expect(find('?', '😀a')).toEqual([0, 2]);
    expect(find('a?b', 'a😀b')).toEqual([0, 4]);
  });

  it('searches from an offset', () => {
    expect(new GlobMatcher(compileGlob('a'), true).find('aXa', 1, false)).toEqual([2, 3]);
  });
});

describe('trim and replace', () => {
  it('trims shortest and longest prefixes and suffixes', () => {
    expect(trimPrefix('a.b.c', '*.', false)).toBe('b.c');
    expect(trimPrefix('a.b.c', '*.', true)).toBe('c');
    expect(trimSuffix('a.b.c', '.*', false)).toBe('a.b');
    expect(trimSuffix('a.b.c', '.*', true)).toBe('a');
    expect(trimSuffix('xx**', '\\**', true)).toBe('xx');
    expect(trimSuffix('a😀b😀', '?', false)).toBe('a😀b');
  });

  it('replaces the first or every match', () => {
    expect(replaceFirst('/tmp/tmp/bar.txt', '/tmp', '')).toBe('/tmp/bar.txt');
    expect(replaceAll('/tmp/tmp/bar.txt', '/tmp', '')).toBe('/bar.txt');
    expect(replaceAll('/a/foo/b/c.txt', '/?/', '/')).toBe('/foo/c.txt');
  });

  it('skips an empty match that touches the previous match, as Go does', () => {
    expect(replaceAll('abc', '*', '-')).toBe('-');
    expect(replaceAll('abc', '', '-')).toBe('-a-b-c-');
    expect(replaceAll('abc', 'b*', '-')).toBe('a-');
    expect(replaceAll('abcb', 'b?', '-')).toBe('a-b');
    expect(replaceAll('😀😀', '', '-')).toBe('-😀-😀-');
  });

  it('expands Go templates in the // replacement', () => {
    expect(replaceAll('ab', 'a', '[$0]')).toBe('[a]b');
    expect(replaceAll('ab', 'a', '[${0}]')).toBe('[a]b');
    expect(replaceAll('ab', 'a', '[$$0]')).toBe('[$0]b');
    expect(replaceAll('ab', 'a', '[$00$1$x${y}]')).toBe('[]b');
    expect(replaceAll('ab', 'a', '[$][${][${0]')).toBe('[$][${][${0]b');
  });
});
