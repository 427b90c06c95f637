/**
 * Property test: `parse` never throws and always finishes, whatever the input. Inputs come
 * from a seeded PRNG, so every run sees the same cases and a failure names its seed.
 * Also checks that every range it reports lies inside the text, in order.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Diagnostic, SourceRange } from '@tbuild/errors';
import { renderDiagnostic } from '@tbuild/errors';
import { dumpBuildkit, parse, parseDockerfile } from '../src/index.ts';

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const root = fileURLToPath(new URL('./fixtures/buildkit-parser/', import.meta.url));
const corpus = [
  ...readdirSync(root + 'testfiles').map((n) => readFileSync(`${root}testfiles/${n}/Dockerfile`, 'utf8')),
  ...readdirSync(root + 'testfiles-negative').map((n) => readFileSync(`${root}testfiles-negative/${n}/Dockerfile`, 'utf8')),
  'FROM a\nRUN <<EOF\necho $X\nEOF\nCOPY <<A <<-B /d\nx\nA\n\ty\n\tB\nONBUILD RUN <<C\nz\nC\n',
  '# escape=`\nFROM a\nRUN a `\n  b\nHEALTHCHECK --interval=5s CMD ["x"]\nARG A="1 2" B\nENV X=1 Y="2 3"\n',
  'FROM a\nRUN --mount=type=cache,target=/x --network=none ["a", "b"]\nCOPY --from=b --chmod=755 ["a", "b"]\n',
];

// Characters that matter to some part of the parser, plus some that matter to none.
const ALPHABET = [
  ...'\\`"\'[]{},:=-$<>#\n\r\t \v\f',
  ...'abcXYZ019_./',
  '\u00a0', '\u0085', '\u2028', '\ufeff', '\u0000', '\u001b', '\ud800', '\udc00', '€', '😀',
  'RUN ', 'FROM ', 'ONBUILD ', 'COPY ', 'ENV ', 'HEALTHCHECK ', 'ARG ', '<<EOF', '<<-', '\nEOF\n', '--mount=', '--', ' \\\n', '["a",', '${a:-',
];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function randomText(r: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += r() < 0.2 ? String.fromCharCode(Math.floor(r() * 0x10000)) : pick(r, ALPHABET);
  return s;
}

function mutate(r: () => number, text: string): string {
  let s = text;
  const steps = 1 + Math.floor(r() * 8);
  for (let k = 0; k < steps; k++) {
    const at = Math.floor(r() * (s.length + 1));
    const op = r();
    if (op < 0.35) s = s.slice(0, at) + randomText(r, 1 + Math.floor(r() * 6)) + s.slice(at);
    else if (op < 0.6) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(r() * 20));
    else if (op < 0.8) {
      const lines = s.split('\n');
      const i = Math.floor(r() * lines.length);
      lines.splice(Math.floor(r() * lines.length), 0, lines[i]!);
      s = lines.join('\n');
    } else {
      const lines = s.split('\n');
      const i = Math.floor(r() * lines.length);
      const j = Math.floor(r() * lines.length);
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      s = lines.join('\n');
    }
  }
  return s;
}

function checkRange(text: string, r: SourceRange, what: string): void {
  const ok =
    r.start.offset >= 0 &&
    r.start.offset <= r.end.offset &&
    r.end.offset <= text.length &&
    r.start.line >= 1 &&
    r.start.column >= 1 &&
    (r.start.line < r.end.line || (r.start.line === r.end.line && r.start.column <= r.end.column));
  if (!ok) throw new Error(`bad ${what} range ${JSON.stringify(r)} for text of length ${text.length}`);
}

function walk(v: unknown, text: string, path: string): void {
  if (!v || typeof v !== 'object') return;
  const o = v as Record<string, unknown>;
  if ('start' in o && 'end' in o && typeof o.start === 'object') {
    checkRange(text, o as unknown as SourceRange, path);
    return;
  }
  for (const [k, child] of Object.entries(o)) walk(child, text, `${path}.${k}`);
}

/** Runs every entry point on `text`; returns nothing, throws only on a parser bug. */
function exercise(text: string): void {
  const r = parse(text);
  const src = r.dockerfile.source!.text;
  walk(r.dockerfile, src, 'dockerfile');
  const diags: Diagnostic[] = [...r.errors, ...r.warnings];
  for (const d of diags) {
    expect(d.code).toMatch(/^TB_PARSE_[A-Z_]+$/);
    checkRange(src, d.location!.range, d.code);
    renderDiagnostic(d);
  }
  try {
    parseDockerfile(text);
    expect(r.errors).toEqual([]);
  } catch (e) {
    expect((e as Error).name).toBe('BuildError');
  }
  try {
    dumpBuildkit(text);
  } catch (e) {
    expect((e as Error).name).toBe('BuildError');
  }
}

describe('parse never throws and always finishes', () => {
  it('mutated corpus files (2000 cases)', () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const r = prng(seed);
      const text = mutate(r, pick(r, corpus));
      try {
        exercise(text);
      } catch (e) {
        throw new Error(`seed ${seed}: ${(e as Error).stack}\ninput: ${JSON.stringify(text)}`);
      }
    }
  });

  it('random text (1000 cases)', () => {
    for (let seed = 1; seed <= 1000; seed++) {
      const r = prng(1_000_000 + seed);
      const text = randomText(r, Math.floor(r() * 400));
      try {
        exercise(text);
      } catch (e) {
        throw new Error(`seed ${seed}: ${(e as Error).stack}\ninput: ${JSON.stringify(text)}`);
      }
    }
  });

  it('random lines of instructions (500 cases)', () => {
    const keywords = ['FROM', 'RUN', 'CMD', 'LABEL', 'MAINTAINER', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME', 'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL'];
    for (let seed = 1; seed <= 500; seed++) {
      const r = prng(2_000_000 + seed);
      const lines: string[] = [];
      const n = 1 + Math.floor(r() * 12);
      for (let i = 0; i < n; i++) lines.push(`${pick(r, keywords)} ${randomText(r, Math.floor(r() * 30))}`);
      const text = lines.join(pick(r, ['\n', '\r\n', ' \\\n']));
      try {
        exercise(text);
      } catch (e) {
        throw new Error(`seed ${seed}: ${(e as Error).stack}\ninput: ${JSON.stringify(text)}`);
      }
    }
  });

  const big = (name: string, make: () => string): void => {
    it(name, { timeout: 30_000 }, () => {
      exercise(make());
    });
  };

  big('ONBUILD nested 20000 deep', () => 'FROM a\n' + 'ONBUILD '.repeat(20000) + 'RUN x\n');
  big('ONBUILD nested 8000 deep (within the line limit), dumped', () => {
    const text = 'FROM a\n' + 'ONBUILD '.repeat(8000) + 'RUN x\n';
    const dump = dumpBuildkit(text);
    expect(dump.startsWith('(from "a")\n(onbuild (onbuild (')).toBe(true);
    return text;
  });
  big('20000 continuation lines', () => 'FROM a\nRUN a \\\n' + '  b \\\n'.repeat(20000) + '  c\n');
  big('20000 continuation lines with comments and blanks', () => 'FROM a\nRUN a \\\n' + '# c\n\n  b \\\n'.repeat(20000));
  big('JSON nested 50000 deep', () => 'FROM a\nCMD ' + '['.repeat(50000) + ']'.repeat(50000) + '\n');
  big('JSON nested 5000 deep with strings', () => 'FROM a\nCMD ["a", ' + '["b", '.repeat(5000) + '"c"' + ']'.repeat(5000) + ']\n');
  big('substitutions nested 20000 deep before a heredoc', () => 'FROM a\nRUN <<EOF ' + '${a:-'.repeat(20000) + '}'.repeat(20000) + '\nx\nEOF\n');
  big('a 1 MB RUN line', () => 'FROM a\nRUN ' + 'echo x && '.repeat(100_000) + '\n');
  big('a 1 MB line of quotes and escapes for ENV', () => 'FROM a\nENV ' + 'a="b \\" c" d=\'e\' '.repeat(60_000) + '\n');
  big('a 1 MB line of flags', () => 'FROM a\nRUN ' + '--mount=type=cache,target=/x '.repeat(35_000) + 'true\n');
  big('a 1 MB JSON array', () => 'FROM a\nCOPY [' + '"a", '.repeat(200_000) + '"b"]\n');
  big('a 1 MB line of heredoc words', () => 'FROM a\nRUN ' + '<<A '.repeat(250_000) + '\nA\n');
  big('a 1 MB heredoc body', () => 'FROM a\nRUN <<EOF\n' + 'line of body text\n'.repeat(60_000) + 'EOF\n');
  big('a 1 MB directive line', () => '# syntax=' + ' '.repeat(1 << 20) + 'x\nFROM a\n');
  big('a 1 MB unknown keyword', () => 'FROM a\n' + 'X'.repeat(1 << 20) + ' y\n');
  big('a 1 MB line of backslashes', () => 'FROM a\nLABEL ' + '\\'.repeat(1 << 20));
  big('a 1 MB of newlines', () => '\n'.repeat(1 << 20) + 'FROM a');
  big('20000 short instructions', () => 'FROM a\n' + 'RUN x\n'.repeat(20_000));
});
