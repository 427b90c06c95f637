/**
 * Parse throughput, run from source: `npx vitest bench --run packages/parser/bench`.
 * Not part of `vitest run` (timings never gate tests).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bench, describe } from 'vitest';
import { dumpBuildkit, parse } from '../src/index.ts';

const root = fileURLToPath(new URL('../test/fixtures/buildkit-parser/testfiles/', import.meta.url));
const corpus = readdirSync(root).map((n) => readFileSync(`${root}${n}/Dockerfile`, 'utf8'));
const typical = readFileSync(`${root}docker/Dockerfile`, 'utf8');
const large = 'FROM alpine\n' + corpus.map((t) => t.replace(/^\s*#\s*escape.*$/gm, '')).join('\n').repeat(20);
const heredocs = 'FROM alpine\n' + 'RUN <<EOF\napt-get update\napt-get install -y curl\nEOF\nCOPY <<A <<B /dst/\na\nA\nb\nB\n'.repeat(500);
const flags = 'FROM alpine\n' + 'RUN --mount=type=cache,target=/root/.cache --network=none ["make", "-j8"]\n'.repeat(2000);

describe('parse', () => {
  bench(`the 33 corpus files (${corpus.reduce((n, t) => n + t.length, 0)} chars)`, () => {
    for (const t of corpus) parse(t);
  });
  bench(`a typical Dockerfile (${typical.split('\n').length} lines)`, () => {
    parse(typical);
  });
  bench(`a large file (${large.split('\n').length} lines)`, () => {
    parse(large);
  });
  bench('1000 heredocs', () => {
    parse(heredocs);
  });
  bench('2000 RUNs with flags and exec form', () => {
    parse(flags);
  });
});

describe('dumpBuildkit', () => {
  bench('the 33 corpus files', () => {
    for (const t of corpus) dumpBuildkit(t);
  });
});
