/**
 * BuildKit's parser corpus (frontend/dockerfile/parser/testfiles*, Apache-2.0, copied verbatim
 * into fixtures/buildkit-parser): the same three checks as BuildKit's parser_test.go.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isBuildError } from '@tbuild/errors';
import { dumpBuildkit, parse } from '../src/index.ts';

const root = fileURLToPath(new URL('./fixtures/buildkit-parser/', import.meta.url));
const read = (p: string): string => readFileSync(root + p, 'utf8');
const cases = readdirSync(root + 'testfiles').sort();
const negative = readdirSync(root + 'testfiles-negative').sort();

describe('TestParseCases: testfiles/*/Dockerfile dumps to result', () => {
  it('has the 33 upstream cases', () => {
    expect(cases).toHaveLength(33);
  });

  it.each(cases)('%s', (name) => {
    const text = read(`testfiles/${name}/Dockerfile`);
    expect(dumpBuildkit(text)).toBe(read(`testfiles/${name}/result`));
  });

  it.each(cases)('%s: the typed pass accepts what the dump shows (or names the unknown parts)', (name) => {
    const r = parse(read(`testfiles/${name}/Dockerfile`));
    // The corpus is first-pass only; the second pass may reject unknown flags/instructions,
    // but it must never throw and every error must point into the file.
    for (const e of r.errors) expect(e.location?.range.start.line).toBeGreaterThan(0);
  });
});

describe('TestParseErrorCases: testfiles-negative/* fail', () => {
  const expected: Record<string, string> = {
    empty_dockerfile: 'file with no instructions',
    env_no_value: 'ENV must have two arguments',
    only_comments: 'file with no instructions',
    'shykes-nested-json': 'when using JSON array syntax, arrays must be comprised of strings only',
  };

  it('has the 4 upstream cases', () => {
    expect(negative).toEqual(Object.keys(expected).sort());
  });

  it.each(negative)('%s', (name) => {
    const text = read(`testfiles-negative/${name}/Dockerfile`);
    let thrown: unknown;
    try {
      dumpBuildkit(text);
    } catch (e) {
      thrown = e;
    }
    expect(isBuildError(thrown)).toBe(true);
    expect((thrown as Error).message).toBe(expected[name]);
    expect(parse(text).errors.map((e) => e.message)).toEqual([expected[name]]);
  });
});

describe('TestParseIncludesLineNumbers: testfile-line', () => {
  it('spans lines 5..31 with children (5,5), (11,12), (17,31)', () => {
    const r = parse(read('testfile-line/Dockerfile'));
    expect(r.errors).toEqual([]);
    const spans = r.dockerfile.instructions.map((i) => [i.range.start.line, i.range.end.line]);
    expect(spans).toEqual([
      [5, 5],
      [11, 12],
      [17, 31],
    ]);
    expect(Math.min(...spans.map((s) => s[0]!))).toBe(5);
    expect(Math.max(...spans.map((s) => s[1]!))).toBe(31);
  });

  it('warns once for the empty continuation lines inside the RUN', () => {
    const r = parse(read('testfile-line/Dockerfile'));
    expect(r.warnings.map((w) => [w.code, w.location?.range.start.line])).toEqual([['TB_PARSE_EMPTY_CONTINUATION', 19]]);
  });
});
