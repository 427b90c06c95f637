import { cleanPath } from './go-path.ts';
import { BadPatternError, validateGoPattern } from './go-match.ts';

/**
 * Docker's path patterns (moby/patternmatcher), used for .dockerignore, `COPY --exclude` and
 * `COPY --parents` includes. A pattern is compiled like patternmatcher does: plain text is an
 * exact match, `x/**` a prefix match, `**​/x` a suffix match, anything else a regular
 * expression in which `*` and `?` never cross `/` and `**` spans any number of directories.
 */
export interface CompiledPattern {
  /** The cleaned pattern, without its leading `!`. */
  readonly text: string;
  /** `!pattern`: re-includes what earlier patterns excluded. */
  readonly exclusion: boolean;
  test(path: string): boolean;
}

/**
 * Per-pattern results for one directory, handed to its children so that a pattern matching a
 * directory also matches everything inside it (patternmatcher `MatchInfo`).
 */
export interface MatchState {
  readonly matched: boolean;
  readonly parentMatched: readonly boolean[];
}

const REGEX_SPECIAL = new Set(['.', '+', '(', ')', '|', '{', '}', '$']);
const JS_SYNTAX = new Set(['^', '$', '\\', '.', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '/']);

/** Compiles one pattern; throws BadPatternError when Go would reject it. */
export function compilePattern(raw: string): CompiledPattern {
  let p = cleanPath(raw.trim());
  let exclusion = false;
  if (p.startsWith('!')) {
    if (p.length === 1) throw new BadPatternError('!');
    exclusion = true;
    p = p.slice(1);
  }
  validateGoPattern(p);
  return { text: p, exclusion, test: buildTester(p) };
}

function literal(ch: string, inClass: boolean): string {
  if (JS_SYNTAX.has(ch) || (inClass && ch === '-')) return '\\' + ch;
  return ch;
}

function buildTester(pattern: string): (path: string) => boolean {
  type Kind = 'exact' | 'prefix' | 'suffix' | 'regexp';
  let kind: Kind = 'exact';
  let re = '^';
  let inClass = false;
  const chars = Array.from(pattern);
  for (let i = 0, step = 0; i < chars.length; step++) {
    const ch = chars[i++]!;
    if (ch === '*') {
      if (chars[i] === '*') {
        i++;
        if (chars[i] === '/') i++;
        if (i >= chars.length) {
          if (kind === 'exact') kind = 'prefix';
          else {
            re += '.*';
            kind = 'regexp';
          }
        } else {
          re += '(.*/)?';
          kind = 'regexp';
        }
        if (step === 0) kind = 'suffix';
      } else {
        re += '[^/]*';
        kind = 'regexp';
      }
    } else if (ch === '?') {
      re += '[^/]';
      kind = 'regexp';
    } else if (REGEX_SPECIAL.has(ch)) {
      re += '\\' + ch;
    } else if (ch === '\\') {
      // Go's filepath.Match meaning (the next character is literal); patternmatcher hands
      // `\d` to Go's regexp where it would mean a digit, which no user intends.
      if (i < chars.length) {
        re += literal(chars[i++]!, inClass);
        kind = 'regexp';
      } else re += '\\\\';
    } else if (ch === '[' || ch === ']') {
      // Go's regexp reads a `]` outside a class as a literal; JavaScript's `u` mode rejects it.
      re += ch === ']' && !inClass ? '\\]' : ch;
      inClass = ch === '[';
      kind = 'regexp';
    } else {
      re += ch;
    }
  }
  switch (kind) {
    case 'exact':
      return (path) => path === pattern;
    case 'prefix': {
      const prefix = pattern.slice(0, -2);
      return (path) => path.startsWith(prefix);
    }
    case 'suffix': {
      const suffix = pattern.slice(2);
      // `**/foo` also matches `foo` itself.
      const bare = suffix.startsWith('/') ? suffix.slice(1) : undefined;
      return (path) => path.endsWith(suffix) || path === bare;
    }
    case 'regexp': {
      let rx: RegExp;
      try {
        rx = new RegExp(re + '$', 'u');
      } catch {
        throw new BadPatternError(pattern);
      }
      return (path) => rx.test(path);
    }
  }
}

/**
 * An ordered pattern list where the last matching pattern wins (patternmatcher.PatternMatcher).
 * `step` must be called for a path after its parent directory, passing the parent's state.
 */
export class PatternList {
  readonly patterns: readonly CompiledPattern[];
  /** Whether any `!` pattern exists; without one an excluded directory can be skipped whole. */
  readonly hasExclusions: boolean;
  private readonly onlyPrefixExceptions: boolean;

  constructor(patterns: readonly CompiledPattern[]) {
    this.patterns = patterns;
    this.hasExclusions = patterns.some((p) => p.exclusion);
    this.onlyPrefixExceptions = !patterns.some((p) => p.exclusion && /[*[\]?^\\]/.test(withoutTrailingGlob(p.text)));
  }

  static parse(raw: readonly string[]): PatternList {
    return new PatternList(raw.filter((r) => r.trim() !== '').map(compilePattern));
  }

  /** patternmatcher `MatchesUsingParentResults`, with `parent` undefined for a top-level path. */
  step(path: string, parent: MatchState | undefined): MatchState {
    const pats = this.patterns;
    const parentMatched = parent?.parentMatched;
    const info: boolean[] = new Array<boolean>(pats.length).fill(false);
    let matched = false;
    for (let i = 0; i < pats.length; i++) {
      const pat = pats[i]!;
      let match = parentMatched !== undefined && parentMatched.length > 0 ? parentMatched[i]! : false;
      if (!match) {
        if (pat.exclusion !== matched) continue;
        match = pat.test(path);
        if (!match && (parentMatched === undefined || parentMatched.length === 0)) {
          const slash = path.lastIndexOf('/');
          if (slash > 0) {
            const dirs = path.slice(0, slash).split('/');
            for (let j = 1; j <= dirs.length && !match; j++) match = pat.test(dirs.slice(0, j).join('/'));
          }
        }
      }
      info[i] = match;
      if (match) matched = !pat.exclusion;
    }
    return { matched, parentMatched: info };
  }

  /** Matches `path` from the root down, the way a walk reaches it. */
  matchesPath(path: string): boolean {
    let state: MatchState | undefined;
    const parts = path.split('/');
    for (let i = 1; i <= parts.length; i++) state = this.step(parts.slice(0, i).join('/'), state);
    return state?.matched ?? false;
  }

  /**
   * Whether a directory that matched can be skipped without reading it, because no `!`
   * exception could re-include anything below it (fsutil's walk optimisation, so a build sees
   * exactly the files BuildKit would transfer).
   */
  canSkipMatchedDir(dir: string): boolean {
    if (!this.hasExclusions) return true;
    if (!this.onlyPrefixExceptions) return false;
    const dirSlash = dir + '/';
    return !this.patterns.some((p) => p.exclusion && (withoutTrailingGlob(p.text) + '/').startsWith(dirSlash));
  }

  /** Literal leading directories of each non-exception pattern, for pruning include walks. */
  literalPrefixes(): string[][] | undefined {
    const out: string[][] = [];
    for (const p of this.patterns) {
      if (p.exclusion) continue;
      const prefix: string[] = [];
      for (const part of p.text.split('/')) {
        if (/[*?[\]\\]/.test(part)) break;
        prefix.push(part);
      }
      if (prefix.length === 0) return undefined;
      out.push(prefix);
    }
    return out;
  }
}

function withoutTrailingGlob(p: string): string {
  let out = p.endsWith('/**') ? p.slice(0, -3) : p;
  if (out.endsWith('/*')) out = out.slice(0, -2);
  return out;
}
