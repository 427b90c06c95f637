// The table-driven cases of BuildKit's lex_test.go (TestProcessWithMatches,
// TestProcessWithMatchesPlatform, TestShellParserMandatoryEnvVars) at 73ed6825, as data.
import { describe, expect, it } from 'vitest';
import { expandWord, expandWordWithMatches, ShellExpansionError } from './index.ts';

interface Case {
  input: string;
  env: Record<string, string>;
  error?: true;
  expected?: string;
  matched?: string[];
  unmatched?: string[];
}

const CASES: Case[] = [
  {"input": "x", "env": {"DUMMY": "dummy"}, "expected": "x", "matched": [], "unmatched": []},
  {"input": "x ${UNUSED}", "env": {"DUMMY": "dummy"}, "expected": "x ", "matched": [], "unmatched": ["UNUSED"]},
  {"input": "x ${FOO}", "env": {"FOO": "y"}, "expected": "x y", "matched": ["FOO"], "unmatched": []},
  {"input": "${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}", "env": {"FOO": "xxx", "BAR": ""}, "expected": "xxx  ccc", "matched": ["BAR", "FOO"], "unmatched": ["BAZ"]},
  {"input": "${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}", "env": {"FOO": "xxx", "BAR": ""}, "expected": "xxx bbb ccc", "matched": ["BAR", "FOO"], "unmatched": ["BAZ"]},
  {"input": "${FOO:-}", "env": {"FOO": "xxx", "BAR": ""}, "expected": "xxx", "matched": ["FOO"], "unmatched": []},
  {"input": "${FOO:-}", "env": {}, "expected": "", "matched": [], "unmatched": ["FOO"]},
  {"input": "${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}", "env": {"FOO": "xxx", "BAR": ""}, "expected": "aaa bbb ", "matched": ["BAR", "FOO"], "unmatched": ["BAZ"]},
  {"input": "${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}", "env": {"FOO": "xxx", "BAR": ""}, "expected": "aaa  ", "matched": ["BAR", "FOO"], "unmatched": ["BAZ"]},
  {"input": "${FOO?aaa}", "env": {"FOO": "xxx", "BAR": ""}, "expected": "xxx", "matched": ["FOO"], "unmatched": []},
  {"input": "${BAR?bbb}", "env": {"FOO": "xxx", "BAR": ""}, "expected": "", "matched": ["BAR"], "unmatched": []},
  {"input": "${BAZ?ccc}", "env": {"FOO": "xxx", "BAR": ""}, "error": true},
  {"input": "${FOO:?aaa}", "env": {"FOO": "xxx", "BAR": ""}, "expected": "xxx", "matched": ["FOO"], "unmatched": []},
  {"input": "${BAR:?bbb}", "env": {"FOO": "xxx", "BAR": ""}, "error": true},
  {"input": "${BAZ:?ccc}", "env": {"FOO": "xxx", "BAR": ""}, "error": true},
  {"input": "${BAZ:?}", "env": {"FOO": "xxx", "BAR": ""}, "error": true},
  {"input": "${FOO=aaa}", "env": {"FOO": "xxx", "BAR": ""}, "error": true},
  {"input": "${FOO=:aaa}", "env": {"FOO": "xxx", "BAR": ""}, "error": true},
  {"input": "${FOO=}", "env": {}, "error": true},
  {"input": "${FOO#()[]{\\}^$.\\*\\?|\\\\}", "env": {"FOO": "()[]{}^$.*?|\\x"}, "expected": "x", "matched": ["FOO"], "unmatched": []},
  {"input": "${FOO%%\\**}", "env": {"FOO": "xx**"}, "expected": "xx", "matched": ["FOO"], "unmatched": []},
  {"input": "${FOO#*x*y}", "env": {"FOO": "xxyy"}, "expected": "y", "matched": ["FOO"], "unmatched": []},
  {"input": "${FOO#*}", "env": {"FOO": "xxyy"}, "expected": "xxyy", "matched": ["FOO"], "unmatched": []},
  {"input": "${FOO#$BAR}", "env": {"FOO": "xxyy", "BAR": "x"}, "expected": "xyy", "matched": ["BAR", "FOO"], "unmatched": []},
  {"input": "${FOO#$BAR}", "env": {"FOO": "xxyy", "BAR": ""}, "expected": "xxyy", "matched": ["BAR", "FOO"], "unmatched": []},
  {"input": "${FOO#}", "env": {"FOO": "xxyy"}, "expected": "xxyy", "matched": ["FOO"], "unmatched": []},
  {"input": "${FOO##*x}", "env": {"FOO": "xxyy"}, "expected": "yy", "matched": ["FOO"], "unmatched": []},
  {"input": "${FOO##}", "env": {"FOO": "xxyy"}, "expected": "xxyy", "matched": ["FOO"], "unmatched": []},
  {"input": "${FOO#?\\?}", "env": {"FOO": "???y"}, "expected": "?y", "matched": ["FOO"], "unmatched": []},
  {"input": "${ABC:-.}${FOO%x}${ABC:-.}", "env": {"FOO": "xxyy"}, "expected": ".xxyy.", "matched": ["FOO"], "unmatched": ["ABC"]},
  {"input": "${FOO%%\\**\\*}", "env": {"FOO": "a***yy*"}, "expected": "a", "matched": ["FOO"], "unmatched": []},
  {"input": "${FOO%}", "env": {"FOO": "xxyy"}, "expected": "xxyy", "matched": ["FOO"], "unmatched": []},
  {"input": "${FOO%%$BAR}", "env": {"FOO": "xxyy", "BAR": ""}, "expected": "xxyy", "matched": ["BAR", "FOO"], "unmatched": []},
  {"input": "${FOO:#}", "env": {}, "error": true},
  {"input": "${FOO:##}", "env": {}, "error": true},
  {"input": "${FOO:%}", "env": {}, "error": true},
  {"input": "${FOO:%%}", "env": {}, "error": true},
  {"input": "${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}", "env": {"FOO": "/foo*/*/*.txt", "NEEDLE": "\\*/"}, "expected": "/foo.*/*.txt - /foo..*.txt", "matched": ["FOO", "NEEDLE"], "unmatched": []},
  {"input": "${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}", "env": {"FOO": "/tmp/tmp/bar.txt", "NEEDLE": "/tmp"}, "expected": "/tmp/bar.txt - /bar.txt", "matched": ["FOO", "NEEDLE"], "unmatched": []},
  {"input": "${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}", "env": {"FOO": "/a/foo/b/c.txt", "NEEDLE": "/?/", "REPLACEMENT": "/"}, "expected": "/foo/b/c.txt - /foo/c.txt", "matched": ["FOO", "NEEDLE", "REPLACEMENT"], "unmatched": []},
  {"input": "${FOO/$NEEDLE/$REPLACEMENT}", "env": {"FOO": "http://google.de", "NEEDLE": "http://", "REPLACEMENT": "https://"}, "expected": "https://google.de", "matched": ["FOO", "NEEDLE", "REPLACEMENT"], "unmatched": []},
  {"input": "${FOO//\\//\\/}", "env": {"FOO": "/tmp/foo.txt"}, "expected": "\\/tmp\\/foo.txt", "matched": ["FOO"], "unmatched": []},
  {"input": "${FOO/$BAR/ww}", "env": {"FOO": "xxyy", "BAR": ""}, "expected": "wwxxyy", "matched": ["BAR", "FOO"], "unmatched": []},
  {"input": "${FOO//ww}", "env": {"FOO": "xxyy"}, "error": true},
  {"input": "${FOO//}", "env": {"FOO": "xxyy"}, "error": true},
  {"input": "${FOO///}", "env": {"FOO": "xxyy"}, "expected": "xxyy", "matched": ["FOO"], "unmatched": []},
  {"input": "${FOO///}", "env": {}, "expected": "", "matched": [], "unmatched": ["FOO"]},
];

describe(`BuildKit TestProcessWithMatches (${CASES.length} cases)`, () => {
  it.each(CASES)('$input', ({ input, env, error, expected, matched, unmatched }) => {
    const lookup = new Map(Object.entries(env));
    if (error) {
      expect(() => expandWordWithMatches(input, lookup)).toThrow(ShellExpansionError);
      return;
    }
    const r = expandWordWithMatches(input, lookup);
    expect(r.value).toBe(expected);
    expect([...r.matched].sort()).toEqual(matched);
    expect([...r.unmatched].sort()).toEqual(unmatched);
  });
});

describe('BuildKit TestProcessWithMatchesPlatform', () => {
  const release = 'something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz';
  it.each([
    [{ TARGETARCH: 'arm', TARGETVARIANT: 'v7' }, 'something-v1.2.3.linux-arm-v7.tar.gz'],
    [{ TARGETARCH: 'arm64', TARGETVARIANT: '' }, 'something-v1.2.3.linux-arm64.tar.gz'],
    [{ TARGETARCH: 'arm64' }, 'something-v1.2.3.linux-arm64.tar.gz'],
  ])('%j → %s', (vars, expected) => {
    const env = new Map(Object.entries({ VERSION: 'v1.2.3', TARGETOS: 'linux', ...vars }));
    expect(expandWordWithMatches(release, env).value).toBe(expected);
  });
});

describe('BuildKit TestShellParserMandatoryEnvVars', () => {
  const set = new Map([['VAR', 'plain'], ['ARG', 'x']]);
  const empty = new Map([['VAR', ''], ['ARG', 'x']]);
  const unset = new Map([['ARG', 'x']]);
  const noEmpty = '${VAR:?message here$ARG}';
  const noUnset = '${VAR?message here$ARG}';

  it('${VAR:?…} rejects empty and unset', () => {
    expect(expandWord(noEmpty, set)).toBe('plain');
    expect(() => expandWord(noEmpty, empty)).toThrow('message herex');
    expect(() => expandWord(noEmpty, unset)).toThrow('message herex');
  });

  it('${VAR?…} rejects only unset', () => {
    expect(expandWord(noUnset, set)).toBe('plain');
    expect(expandWord(noUnset, empty)).toBe('');
    expect(() => expandWord(noUnset, unset)).toThrow('message herex');
  });
});
