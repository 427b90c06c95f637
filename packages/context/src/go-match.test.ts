import { describe, expect, it } from 'vitest';
import { BadPatternError, containsWildcards, goMatch } from './go-match.ts';
import { cleanPath, contextRel } from './go-path.ts';

// Go's path/filepath.Match contract (pattern, name, match) including its error cases.
const cases: Array<[string, string, boolean | 'bad']> = [
  ['abc', 'abc', true],
  ['*', 'abc', true],
  ['*c', 'abc', true],
  ['a*', 'a', true],
  ['a*', 'ab/c', false],
  ['a*/b', 'abc/b', true],
  ['a*/b', 'a/c/b', false],
  ['a*b*c*d*e*/f', 'axbxcxdxe/f', true],
  ['a*b*c*d*e*/f', 'axbxcxdxexxx/fff', false],
  ['a*b?c*x', 'abxbbxdbxebxczzx', true],
  ['ab[c]', 'abc', true],
  ['ab[b-d]', 'abc', true],
  ['ab[e-g]', 'abc', false],
  ['ab[^c]', 'abc', false],
  ['ab[^e-g]', 'abc', true],
  ['a\\*b', 'a*b', true],
  ['a\\*b', 'ab', false],
  ['a?b', 'a☺b', true],
  ['a[^a]b', 'a☺b', true],
  ['a???b', 'a☺b', false],
  ['[a-ζ]*', 'α', true],
  ['[\\]a]', ']', true],
  ['[\\-]', '-', true],
  ['[x\\-]', 'z', false],
  ['a?', 'a/', false],
  ['*x', 'xxx', true],
  ['[]a]', ']', 'bad'],
  ['[-]', '-', 'bad'],
  ['[x-]', 'x', 'bad'],
  ['\\', 'a', 'bad'],
  ['[a-b-c]', 'a', 'bad'],
  ['[', 'a', 'bad'],
  ['[^', 'a', 'bad'],
  ['a[', 'x', 'bad'],
  ['*x[', 'y', 'bad'],
];

describe('goMatch', () => {
  it.each(cases)('%s on %s → %s', (pattern, name, want) => {
    if (want === 'bad') expect(() => goMatch(pattern, name)).toThrow(BadPatternError);
    else expect(goMatch(pattern, name)).toBe(want);
  });

  it('detects unescaped wildcards only', () => {
    expect(containsWildcards('src/*.ts')).toBe(true);
    expect(containsWildcards('a\\*b')).toBe(false);
    expect(containsWildcards('file[1].txt')).toBe(true);
  });
});

describe('cleanPath', () => {
  it.each([
    ['', '.'],
    ['a/b/../c/', 'a/c'],
    ['/../../b', '/b'],
    ['../x', '../x'],
    ['//a//./b/', '/a/b'],
  ])('%s → %s', (p, want) => expect(cleanPath(p)).toBe(want));

  it('maps any source into the context root', () => {
    expect(contextRel('/a/../../b')).toBe('b');
    expect(contextRel('../../etc/passwd')).toBe('etc/passwd');
    expect(contextRel('.')).toBe('');
  });
});
