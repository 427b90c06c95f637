// BuildKit's own corpus for its word processor (frontend/dockerfile/shell/{envVarTest,wordsTest}
// at 73ed6825), run the way BuildKit's lex_test.go runs it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expandWord, expandWords } from './index.ts';
import type { ShellOptions } from './index.ts';

const fixtures = new URL('../../test/fixtures/buildkit-shell/', import.meta.url);
const read = (name: string): string[] => readFileSync(new URL(name, fixtures), 'utf8').split('\n');

interface EnvVarCase {
  line: number;
  input: string;
  expected: string;
}

// `PLATFORM|INPUT|EXPECTED`; comment test happens before trimming, as in lex_test.go.
function envVarCases(): EnvVarCase[] {
  const cases: EnvVarCase[] = [];
  read('envVarTest').forEach((raw, i) => {
    if (raw.startsWith('#')) return;
    const line = raw.trim();
    if (line === '') return;
    const fields = line.split('|');
    if (fields.length !== 3) throw new Error(`envVarTest:${i + 1}: expected 3 fields`);
    const platform = fields[0]!.trim();
    if (platform !== 'A' && platform !== 'U') return;
    cases.push({ line: i + 1, input: fields[1]!.trim(), expected: fields[2]!.trim() });
  });
  return cases;
}

interface WordsCase {
  line: number;
  input: string;
  env: Map<string, string>;
  expected: string[];
}

// `ENV k=v` lines accumulate; `INPUT|w1,w2,…` lines are cases (EXPECTED keeps trailing spaces).
function wordsCases(): WordsCase[] {
  const cases: WordsCase[] = [];
  const env = new Map<string, string>();
  read('wordsTest').forEach((line, i) => {
    if (line.startsWith('#') || line === '') return;
    if (line.startsWith('ENV ')) {
      const kv = line.slice(3).replace(/^ +/, '');
      const eq = kv.indexOf('=');
      env.set(eq < 0 ? kv : kv.slice(0, eq), eq < 0 ? '' : kv.slice(eq + 1));
      return;
    }
    const fields = line.split('|');
    if (fields.length !== 2) throw new Error(`wordsTest:${i + 1}: expected exactly one |`);
    cases.push({
      line: i + 1,
      input: fields[0]!.trim(),
      env: new Map(env),
      expected: fields[1]!.replace(/^ +/, '').split(','),
    });
  });
  return cases;
}

function wordsOrError(input: string, env: Map<string, string>, opts?: ShellOptions): string[] {
  try {
    return expandWords(input, env, opts);
  } catch (e) {
    if (e instanceof Error && e.name === 'ShellExpansionError') return ['error'];
    throw e;
  }
}

const ENV = new Map([
  ['PWD', '/home'],
  ['SHELL', 'bash'],
  ['KOREAN', '한국어'],
  ['NULL', ''],
]);
const envVar = envVarCases();
const words = wordsCases();

describe(`envVarTest (${envVar.length} A/U cases)`, () => {
  it('has the whole corpus', () => {
    expect(envVar.length).toBe(228);
  });
  it.each(envVar)('line $line: $input → $expected', ({ input, expected }) => {
    if (expected === 'error') {
      expect(() => expandWord(input, ENV)).toThrow(expect.objectContaining({ code: 'TB_PARSE_VARIABLE' }));
    } else {
      expect(expandWord(input, ENV)).toBe(expected);
    }
  });
});

describe(`wordsTest, normal mode (${words.length} cases)`, () => {
  it('has the whole corpus', () => {
    expect(words.length).toBe(24);
  });
  it.each(words)('line $line: $input', ({ input, env, expected }) => {
    expect(wordsOrError(input, env)).toEqual(expected);
  });
});

// lex_test.go also loops over a second mode (RawQuotes + SkipUnsetEnv), but it reuses the
// already-drained file scanner, so BuildKit never checks that mode against the corpus. These
// expectations come from running BuildKit's lex.go (73ed6825) itself on each line.
const RAW_MODE: Record<number, string[]> = {
  1: ['hello'],
  2: ['hello${hi}bye'],
  4: ['hellohibye'],
  6: ['helloabc', 'defbye'],
  7: ['hello"abc  def"bye'],
  8: ['hello', '"abc  def"bye'],
  10: ['hello', 'ab', 'cdef'],
  11: ['hello"  ab c"', 'def'],
  12: ['hello"  ab c"'],
  13: ['hello', 'ab', 'c'],
  16: ['helloab', 'c'],
  17: ['helloab', 'c', 'd'],
  18: ['hello"ab c   "d'],
  20: ['hel"loab c   "'],
  21: ['hello" there  "'],
  22: ['hello', 'there'],
  23: ['hello there'],
  24: ['error'],
  25: ['hello"', 'there'],
  26: ['hello"\\there"'],
  27: ['hello"\\there"'],
  28: ["hello'\\\\there'"],
  29: ["hello'\\there'"],
  30: ["hello'$there'"],
};

describe(`wordsTest, raw quotes + skip unset (${words.length} cases)`, () => {
  it('covers every line', () => {
    expect(Object.keys(RAW_MODE).map(Number)).toEqual(words.map((c) => c.line));
  });
  it.each(words)('line $line: $input', ({ line, input, env }) => {
    expect(wordsOrError(input, env, { rawQuotes: true, skipUnsetEnv: true })).toEqual(RAW_MODE[line]);
  });
});
