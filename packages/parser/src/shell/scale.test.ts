// Expansion runs for every word of every instruction, and Dockerfiles can be hostile: big
// inputs must stay linear. These tests assert results on large inputs, not durations.
import { describe, expect, it } from 'vitest';
import { expandWord, expandWords } from './index.ts';

const MB = 1 << 20;

describe('large inputs', () => {
  it('expands a 1 MB word of plain text, escapes and quotes', () => {
    const chunk = 'abc\\ def "g h" \'i\' ';
    const word = chunk.repeat(Math.ceil(MB / chunk.length));
    const out = expandWord(word, new Map());
    expect(out).toBe('abc def g h i '.repeat(Math.ceil(MB / chunk.length)));
    expect(word.length).toBeGreaterThanOrEqual(MB);
  });

  it('expands a 1 MB word made of variable references', () => {
    const word = '${A}$B${C:-c}'.repeat(MB / 16);
    const out = expandWord(word, new Map([['A', 'a'], ['B', 'b']]));
    expect(out).toBe('abc'.repeat(MB / 16));
  });

  it('splits a 1 MB word into words', () => {
    const words = expandWords('w '.repeat(MB / 2), new Map());
    expect(words).toHaveLength(MB / 2);
  });

  it('matches patterns against a 1 MB value without backtracking blow-ups', () => {
    // `a*a*a*…b` on a run of `a`s is the classic exponential case for backtracking matchers.
    const env = new Map([['V', 'a'.repeat(MB)], ['P', 'a*'.repeat(8) + 'b']]);
    expect(expandWord('${V#$P}', env)).toBe(env.get('V'));
    expect(expandWord('${V%%$P}', env)).toBe(env.get('V'));
    expect(expandWord('${V//$P/x}', env)).toBe(env.get('V'));
    expect(expandWord('${V##*a}', env)).toBe('');
    expect(expandWord('${V%a}', env)).toHaveLength(MB - 1);
    expect(expandWord('${V//aa/b}', env)).toBe('b'.repeat(MB / 2));
  });

  it('handles a 1 MB value full of newlines (stars stop at each one)', () => {
    const env = new Map([['V', 'ab\n'.repeat(MB / 4)]]);
    expect(expandWord('${V//*b/x}', env)).toBe('x\n'.repeat(MB / 4));
  });
});
