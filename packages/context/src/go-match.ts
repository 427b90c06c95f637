/**
 * Go's `path/filepath.Match` (Unix flavour), which Docker uses for COPY source wildcards and to
 * validate .dockerignore patterns. Ported from the documented grammar:
 *
 *   pattern: { term }
 *   term:    '*' (any run of non-'/')  |  '?' (one non-'/' character)
 *            | '[' [ '^' ] { range } ']'  |  '\' c  |  c
 *   range:   c  |  c '-' c
 *
 * Malformed patterns are reported (like Go) even when the name fails to match early.
 */
export class BadPatternError extends Error {
  constructor(readonly pattern: string) {
    super(`syntax error in pattern: ${JSON.stringify(pattern)}`);
    this.name = 'BadPatternError';
  }
}

/** True when `name` contains an unescaped `*`, `?` or `[` (BuildKit `containsWildcards`). */
export function containsWildcards(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    if (c === '\\') i++;
    else if (c === '*' || c === '?' || c === '[') return true;
  }
  return false;
}

export function goMatch(pattern: string, name: string): boolean {
  let pat = pattern;
  let s = name;
  outer: while (pat.length > 0) {
    const { star, chunk, rest } = scanChunk(pat);
    pat = rest;
    if (star && chunk === '') return !s.includes('/');
    const first = matchChunk(chunk, s, pattern);
    if (first !== undefined && (first.length === 0 || pat.length > 0)) {
      s = first;
      continue;
    }
    if (star) {
      for (let i = 0; i < s.length && s[i] !== '/'; i++) {
        const t = matchChunk(chunk, s.slice(i + 1), pattern);
        if (t !== undefined) {
          if (pat.length === 0 && t.length > 0) continue;
          s = t;
          continue outer;
        }
      }
    }
    // Go validates the rest of the pattern before answering "no match".
    while (pat.length > 0) {
      const next = scanChunk(pat);
      pat = next.rest;
      matchChunk(next.chunk, '', pattern);
    }
    return false;
  }
  return s.length === 0;
}

/** Throws BadPatternError when Go's filepath.Match would return ErrBadPattern. */
export function validateGoPattern(pattern: string): void {
  goMatch(pattern, '.');
}

function scanChunk(pattern: string): { star: boolean; chunk: string; rest: string } {
  let star = false;
  let p = pattern;
  while (p.startsWith('*')) {
    p = p.slice(1);
    star = true;
  }
  let inRange = false;
  let i = 0;
  scan: for (; i < p.length; i++) {
    switch (p[i]) {
      case '\\':
        if (i + 1 < p.length) i++;
        break;
      case '[':
        inRange = true;
        break;
      case ']':
        inRange = false;
        break;
      case '*':
        if (!inRange) break scan;
        break;
    }
  }
  return { star, chunk: p.slice(0, i), rest: p.slice(i) };
}

function codePointLen(s: string, i: number): number {
  const c = s.codePointAt(i) ?? 0;
  return c > 0xffff ? 2 : 1;
}

/** Returns the rest of `s` after matching `chunk`, or undefined when it does not match. */
function matchChunk(chunk: string, input: string, whole: string): string | undefined {
  let c = chunk;
  let s = input;
  let failed = false;
  while (c.length > 0) {
    if (!failed && s.length === 0) failed = true;
    const ch = c[0];
    if (ch === '[') {
      let r = 0;
      if (!failed) {
        r = s.codePointAt(0) ?? 0;
        s = s.slice(codePointLen(s, 0));
      }
      c = c.slice(1);
      let negated = false;
      if (c.startsWith('^')) {
        negated = true;
        c = c.slice(1);
      }
      let match = false;
      let nrange = 0;
      for (;;) {
        if (c.startsWith(']') && nrange > 0) {
          c = c.slice(1);
          break;
        }
        const lo = getEsc(c, whole);
        c = lo.rest;
        let hi = lo.r;
        if (c[0] === '-') {
          const h = getEsc(c.slice(1), whole);
          c = h.rest;
          hi = h.r;
        }
        if (lo.r <= r && r <= hi) match = true;
        nrange++;
      }
      if (match === negated) failed = true;
    } else if (ch === '?') {
      if (!failed) {
        if (s[0] === '/') failed = true;
        s = s.slice(codePointLen(s, 0));
      }
      c = c.slice(1);
    } else {
      if (ch === '\\') {
        c = c.slice(1);
        if (c.length === 0) throw new BadPatternError(whole);
      }
      if (!failed) {
        if (c[0] !== s[0]) failed = true;
        s = s.slice(1);
      }
      c = c.slice(1);
    }
  }
  return failed ? undefined : s;
}

function getEsc(chunk: string, whole: string): { r: number; rest: string } {
  let c = chunk;
  if (c.length === 0 || c[0] === '-' || c[0] === ']') throw new BadPatternError(whole);
  if (c[0] === '\\') {
    c = c.slice(1);
    if (c.length === 0) throw new BadPatternError(whole);
  }
  const r = c.codePointAt(0) ?? 0;
  const rest = c.slice(codePointLen(c, 0));
  if (rest.length === 0) throw new BadPatternError(whole);
  return { r, rest };
}
