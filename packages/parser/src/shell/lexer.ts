import { EOF } from './chars.ts';
import { missingBrace, ShellSyntaxFailure, unsupportedModifier } from './errors.ts';
import { replaceAll, replaceFirst, trimPrefix, trimSuffix } from './glob.ts';
import { WordScanner } from './scanner.ts';
import type { VarLookup } from './scanner.ts';
import type { WordSplitter } from './words.ts';

/** How the processor treats quotes, escapes and unset variables (BuildKit's `Lex` flags). */
export interface LexMode {
  /** Code point of the escape character (`\` or `` ` ``). */
  escape: number;
  /** Quotes are processed but kept in the output (BuildKit `RawQuotes`). */
  rawQuotes: boolean;
  /** Quotes are ordinary characters (BuildKit `SkipProcessQuotes`). */
  skipQuotes: boolean;
  /** Escape characters are kept in the output (BuildKit `RawEscapes`). */
  rawEscapes: boolean;
  /** Unset variables stay as written, `$X` / `${X…}` (BuildKit `SkipUnsetEnv`). */
  skipUnsetEnv: boolean;
}

const DOLLAR = 0x24;
const LT = 0x3c;
const SQUOTE = 0x27;
const DQUOTE = 0x22;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const COLON = 0x3a;
const SLASH = 0x2f;

// Real Dockerfiles nest `${a:-${b:-…}}` a few levels; the cap turns hostile input into a user
// error instead of a JavaScript stack overflow.
const MAX_NESTING = 500;

/**
 * One run of BuildKit's shell word processor (`frontend/dockerfile/shell/lex.go`) over one
 * word. Scans by code point; throws ShellSyntaxFailure for user errors.
 *
 * Checked against BuildKit 73ed6825 itself (its corpus, its unit cases, and differential
 * fuzzing). Deliberate differences, all on malformed input or BuildKit bugs:
 * - `${NAME` at the end of the word says `missing '}'` (BuildKit: `unsupported modifier (\uFFFD)`);
 * - word splitting keeps text before a `${a:-b}`-style expansion (BuildKit drops it, because its
 *   nested calls reset a shared buffer);
 * - substitutions nested over MAX_NESTING deep fail instead of recursing;
 * - `invalid pattern` messages show `%` patterns as written, not reversed;
 * - variable names are case-sensitive (BuildKit ignores case on Windows only).
 */
export class ShellWord extends WordScanner {
  private rawEscapes: boolean;
  private depth = 0;
  private readonly escapeChar: string;

  constructor(
    src: string,
    env: VarLookup,
    private readonly mode: LexMode,
  ) {
    super(src, env);
    this.rawEscapes = mode.rawEscapes;
    this.escapeChar = String.fromCodePoint(mode.escape);
  }

  /** Expands the whole word; `words`, when given, receives the word-split form. */
  run(words?: WordSplitter): string {
    return this.processStopOn(EOF, this.mode.rawEscapes, words);
  }

  private isSpecial(c: number, stop: number): boolean {
    return (
      c === DOLLAR ||
      c === LT ||
      c === this.mode.escape ||
      c === stop ||
      (!this.mode.skipQuotes && (c === SQUOTE || c === DQUOTE))
    );
  }

  // Expands up to (and consumes) `stop`, or to the end of the word when stop is EOF.
  private processStopOn(stop: number, rawEscapes: boolean, words?: WordSplitter): string {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      const src = this.src;
      let result = '';
      while (this.pos < src.length) {
        // Every special character is ASCII, so comparing UTF-16 code units is exact.
        const c = src.charCodeAt(this.pos);
        if (stop !== EOF && c === stop) {
          this.pos++;
          return result;
        }
        if (c === DOLLAR) {
          const value = this.processDollar();
          result += value;
          words?.addText(value);
        } else if (c === LT) {
          const value = this.processPossibleHeredoc();
          result += value;
          words?.addRaw(value);
        } else if (!this.mode.skipQuotes && c === SQUOTE) {
          const value = this.processSingleQuote();
          result += value;
          words?.addRaw(value);
        } else if (!this.mode.skipQuotes && c === DQUOTE) {
          const value = this.processDoubleQuote();
          result += value;
          words?.addRaw(value);
        } else if (c === this.mode.escape) {
          this.pos++;
          if (this.rawEscapes) {
            result += this.escapeChar;
            words?.addRaw(this.escapeChar);
          }
          // A trailing escape character is dropped.
          if (this.pos >= src.length) break;
          const escaped = String.fromCodePoint(this.next());
          result += escaped;
          words?.addRaw(escaped);
        } else {
          let end = this.pos + 1;
          while (end < src.length && !this.isSpecial(src.charCodeAt(end), stop)) end++;
          const text = src.slice(this.pos, end);
          this.pos = end;
          result += text;
          words?.addText(text);
        }
      }
      if (stop !== EOF) {
        throw new ShellSyntaxFailure(
          `unexpected end of statement while looking for matching ${String.fromCodePoint(stop)}`,
        );
      }
      return result;
    } finally {
      this.rawEscapes = saved;
    }
  }

  // Single quotes keep everything literally; there is no way to escape `'` inside them.
  private processSingleQuote(): string {
    this.pos++;
    const close = this.src.indexOf("'", this.pos);
    if (close < 0) {
      this.pos = this.src.length; // consumed to the end, which `nested` reports as a missing `}`
      throw new ShellSyntaxFailure(
        'unexpected end of statement while looking for matching single-quote',
        'close the quote, or escape it to keep it literal',
      );
    }
    const body = this.src.slice(this.pos, close);
    this.pos = close + 1;
    return this.mode.rawQuotes ? `'${body}'` : body;
  }

  // Double quotes expand `$`; the escape character only escapes `"`, `$` and itself.
  private processDoubleQuote(): string {
    const src = this.src;
    const esc = this.mode.escape;
    this.pos++;
    let result = this.mode.rawQuotes ? '"' : '';
    for (;;) {
      if (this.pos >= src.length) {
        throw new ShellSyntaxFailure(
          'unexpected end of statement while looking for matching double-quote',
          'close the quote, or escape it to keep it literal',
        );
      }
      const c = src.charCodeAt(this.pos);
      if (c === DQUOTE) {
        this.pos++;
        return this.mode.rawQuotes ? result + '"' : result;
      }
      if (c === DOLLAR) {
        result += this.processDollar();
        continue;
      }
      if (c === esc) {
        this.pos++;
        if (this.rawEscapes) result += this.escapeChar;
        if (this.pos >= src.length) continue;
        const n = src.charCodeAt(this.pos);
        if (n === DQUOTE || n === DOLLAR || n === esc) {
          this.pos++;
          result += String.fromCharCode(n);
        } else {
          // Any other escape stays as written (and, like BuildKit, twice in raw-escape mode).
          result += this.escapeChar;
        }
        continue;
      }
      let end = this.pos + 1;
      while (end < src.length) {
        const d = src.charCodeAt(end);
        if (d === DQUOTE || d === DOLLAR || d === esc) break;
        end++;
      }
      result += src.slice(this.pos, end);
      this.pos = end;
    }
  }

  private processPossibleHeredoc(): string {
    this.pos++;
    if (this.peek() !== LT) return '<';
    this.pos++;
    // `<< EOF` stays one word: the blanks after `<<` belong to the heredoc marker.
    const start = this.pos;
    for (let c = this.peek(); c === 0x20 || c === 0x09 || c === 0x0d; c = this.peek()) this.pos++;
    return '<<' + this.src.slice(start, this.pos);
  }

  private processDollar(): string {
    this.pos++;
    if (this.peek() !== LBRACE) {
      const name = this.processName();
      if (name === '') return '$';
      const value = this.getEnv(name);
      if (value === undefined && this.mode.skipUnsetEnv) return '$' + name;
      return value ?? '';
    }
    this.pos++;
    const first = this.peek();
    if (first === EOF) throw missingBrace();
    if (first === LBRACE || first === RBRACE || first === COLON) {
      throw new ShellSyntaxFailure(
        'syntax error: bad substitution',
        `a variable name must follow '\${'; escape the '$' (${this.escapeChar}$) to keep it literal`,
      );
    }
    const name = this.processName();
    const ch = this.next();
    // BuildKit reports "unsupported modifier (\uFFFD)" here; a missing brace is what happened.
    if (ch === EOF) throw missingBrace();
    switch (ch) {
      case RBRACE: {
        const value = this.getEnv(name);
        if (value === undefined && this.mode.skipUnsetEnv) return `\${${name}}`;
        return value ?? '';
      }
      case COLON: {
        const op = this.next();
        const chs = ':' + (op === EOF ? '\ufffd' : String.fromCodePoint(op));
        return this.processModifier(name, op, chs, true);
      }
      case 0x2b /* + */:
      case 0x2d /* - */:
      case 0x3f /* ? */:
      case 0x23 /* # */:
      case 0x25 /* % */:
        return this.processModifier(name, ch, String.fromCodePoint(ch), false);
      case SLASH:
        return this.processReplace(name);
      default:
        throw unsupportedModifier(String.fromCodePoint(ch));
    }
  }

  // `${name<chs>word}` where chs is one of - + ? # % (maybe after `:`), or anything after `:`.
  private processModifier(name: string, op: number, chs: string, nullIsUnset: boolean): string {
    const isPattern = op === 0x23 || op === 0x25;
    if (nullIsUnset && isPattern) throw unsupportedModifier(chs);
    // Patterns keep their escape characters: the glob parser interprets `\*`, `\?`, `\}`.
    let word = this.nested(RBRACE, isPattern, missingBrace);
    const value = this.getEnv(name);
    if (value === undefined && this.mode.skipUnsetEnv) return `\${${name}${chs}${word}}`;
    const set = value !== undefined;
    const empty = !set || (nullIsUnset && value === '');
    switch (op) {
      case 0x2d /* - */:
        return empty ? word : value!;
      case 0x2b /* + */:
        return empty ? '' : word;
      case 0x3f /* ? */:
        if (!set) throw new ShellSyntaxFailure(`${name}: ${word || 'is not allowed to be unset'}`);
        if (empty) throw new ShellSyntaxFailure(`${name}: ${word || 'is not allowed to be empty'}`);
        return value;
      case 0x23 /* # */:
      case 0x25 /* % */: {
        // `##` / `%%` (longest match) is decided on the expanded word, as BuildKit does.
        const greedy = word.length > 0 && word.charCodeAt(0) === op;
        if (greedy) word = word.slice(1);
        return withPattern(word, () =>
          op === 0x25 ? trimSuffix(value ?? '', word, greedy) : trimPrefix(value ?? '', word, greedy),
        );
      }
      default:
        throw unsupportedModifier(chs);
    }
  }

  // `${name/pattern/replacement}` and `${name//pattern/replacement}`.
  private processReplace(name: string): string {
    const all = this.peek() === SLASH;
    if (all) this.pos++;
    const pattern = this.nested(
      SLASH,
      true,
      () => new ShellSyntaxFailure("syntax error: missing '/' in ${}", 'write ${VAR/pattern/replacement}'),
    );
    const replacement = this.nested(RBRACE, true, missingBrace);
    const value = this.getEnv(name);
    // BuildKit writes a single `/` back even for `//`; kept, since this text is only displayed.
    if (value === undefined && this.mode.skipUnsetEnv) return `\${${name}/${pattern}/${replacement}}`;
    return withPattern(pattern, () =>
      all ? replaceAll(value ?? '', pattern, replacement) : replaceFirst(value ?? '', pattern, replacement),
    );
  }

  // A nested word (operator argument). Like BuildKit, any failure that leaves us at the end of
  // the input is reported as the missing delimiter, which is the usual root cause.
  private nested(stop: number, rawEscapes: boolean, atEnd: () => ShellSyntaxFailure): string {
    if (++this.depth > MAX_NESTING) {
      throw new ShellSyntaxFailure(`variable substitutions nested more than ${MAX_NESTING} deep`);
    }
    try {
      return this.processStopOn(stop, rawEscapes);
    } catch (e) {
      if (e instanceof ShellSyntaxFailure && this.pos >= this.src.length) throw atEnd();
      throw e;
    } finally {
      this.depth--;
    }
  }

}

function withPattern(pattern: string, run: () => string): string {
  try {
    return run();
  } catch (e) {
    if (e instanceof ShellSyntaxFailure) {
      throw new ShellSyntaxFailure(
        `invalid pattern (${pattern}) in substitution: ${e.reason}`,
        'in patterns only \\*, \\?, \\\\, \\} and \\/ are valid escapes',
      );
    }
    throw e;
  }
}
