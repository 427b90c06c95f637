/**
 * Heredoc detection, a port of BuildKit's `heredocsFromLine` / `ParseHeredoc`
 * (frontend/dockerfile/parser/parser.go). BuildKit finds heredocs by running its shell lexer
 * (`shell.Lex`, escape `\`, raw quotes and escapes, unset variables kept verbatim, an empty
 * environment) over the whole instruction line and matching each resulting word against
 * `^(\d*)<<(-?)\s*([^<]*)$`. That lexer has quirks that decide what counts as a heredoc
 * (`<< EOF` is one word, `<<- EOF` is two; a line with an unterminated quote has no words at
 * all), so the parts of it that matter are reproduced here rather than approximated.
 *
 * This is deliberately separate from the variable expander in `../shell/`: it never expands
 * anything, and it must keep BuildKit's word-splitting quirks even where they look like bugs.
 */

import { isGoSpace } from '../text.ts';

const EOF = '';
const MAX_NESTING = 500;

class ShellSyntaxError extends Error {}

interface WordSpan {
  value: string;
  start: number;
  end: number;
}

interface WordsState {
  list: WordSpan[];
  inWord: boolean;
  start: number;
  end: number;
}

const LETTER_RE = /^\p{L}$/u;
const DIGIT_RE = /^\p{Nd}$/u;

/** The subset of BuildKit's `shell.Lex` needed for heredoc detection (empty env, SkipUnsetEnv). */
class RawShellLexer {
  private src = '';
  private pos = 0;
  private rawEscapes = false;
  /** Go shares one words buffer between nested `processStopOn` calls; nested calls clobber it. */
  private readonly buf = { s: '' };
  private elementStart = 0;

  constructor(
    private readonly rawQuotes: boolean,
    private readonly rawEscapesDefault: boolean,
  ) {}

  /** `ProcessWords`; throws ShellSyntaxError where BuildKit returns an error. */
  words(src: string): WordSpan[] {
    this.src = src;
    this.pos = 0;
    this.buf.s = '';
    this.depth = 0;
    this.rawEscapes = this.rawEscapesDefault;
    return this.processStopOn(EOF, this.rawEscapesDefault)[1];
  }

  private peek(): string {
    if (this.pos >= this.src.length) return EOF;
    return String.fromCodePoint(this.src.codePointAt(this.pos)!);
  }

  private next(): string {
    const c = this.peek();
    this.pos += c.length;
    return c;
  }

  private addRawString(w: WordsState, s: string): void {
    if (this.buf.s.length === 0) w.start = this.elementStart;
    this.buf.s += s;
    w.inWord = true;
    w.end = this.pos;
  }

  private addChar(w: WordsState, ch: string): void {
    if (isGoSpace(ch)) {
      if (w.inWord && this.buf.s.length !== 0) {
        w.list.push({ value: this.buf.s, start: w.start, end: w.end });
        this.buf.s = '';
        w.inWord = false;
      }
    } else {
      this.addRawString(w, ch);
    }
  }

  private getWords(w: WordsState): WordSpan[] {
    if (this.buf.s.length > 0) {
      w.list.push({ value: this.buf.s, start: w.start, end: w.end });
      this.buf.s = '';
      w.inWord = false;
    }
    return w.list;
  }

  private depth = 0;

  private processStopOn(stopChar: string, rawEscapes: boolean): [string, WordSpan[]] {
    // Go's growable stacks take any nesting; here `${a:-${a:-...` deeper than this is refused.
    if (++this.depth > MAX_NESTING) throw new ShellSyntaxError('substitutions nested too deeply');
    let result = '';
    this.buf.s = '';
    const w: WordsState = { list: [], inWord: false, start: this.pos, end: this.pos };
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      while (this.peek() !== EOF) {
        const ch = this.peek();
        this.elementStart = this.pos;
        if (stopChar !== EOF && ch === stopChar) {
          this.next();
          return [result, this.getWords(w)];
        }
        if (ch === '$' || ch === '<' || ch === "'" || ch === '"') {
          const start = this.pos;
          const tmp =
            ch === '$'
              ? this.processDollar()
              : ch === '<'
                ? this.processPossibleHeredoc()
                : ch === "'"
                  ? this.processSingleQuote()
                  : this.processDoubleQuote();
          result += tmp;
          this.elementStart = start; // a nested processStopOn moved it
          if (ch === '$') for (const c of tmp) this.addChar(w, c);
          else this.addRawString(w, tmp);
          continue;
        }
        let c = this.next();
        if (c === '\\') {
          if (this.rawEscapes) {
            this.addRawString(w, c);
            result += c;
          }
          c = this.next();
          if (c === EOF) break;
          this.addRawString(w, c);
        } else {
          this.addChar(w, c);
        }
        result += c;
      }
      if (stopChar !== EOF) {
        throw new ShellSyntaxError(`unexpected end of statement while looking for matching ${stopChar}`);
      }
      return [result, this.getWords(w)];
    } finally {
      this.rawEscapes = saved;
      this.depth--;
    }
  }

  private processSingleQuote(): string {
    let result = '';
    const open = this.next();
    if (this.rawQuotes) result += open;
    for (;;) {
      const ch = this.next();
      if (ch === EOF) throw new ShellSyntaxError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") {
        if (this.rawQuotes) result += ch;
        return result;
      }
      result += ch;
    }
  }

  private processDoubleQuote(): string {
    let result = '';
    const open = this.next();
    if (this.rawQuotes) result += open;
    for (;;) {
      const p = this.peek();
      if (p === EOF) throw new ShellSyntaxError('unexpected end of statement while looking for matching double-quote');
      if (p === '"') {
        const ch = this.next();
        if (this.rawQuotes) result += ch;
        return result;
      }
      if (p === '$') {
        result += this.processDollar();
        continue;
      }
      let ch = this.next();
      if (ch === '\\') {
        if (this.rawEscapes) result += ch;
        const q = this.peek();
        if (q === EOF) continue;
        if (q === '"' || q === '$' || q === '\\') ch = this.next();
      }
      result += ch;
    }
  }

  private processDollar(): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.processName();
      return name === '' ? '$' : '$' + name;
    }
    this.next();
    const p = this.peek();
    if (p === EOF) throw new ShellSyntaxError("syntax error: missing '}'");
    if (p === '{' || p === '}' || p === ':') throw new ShellSyntaxError('syntax error: bad substitution');
    const name = this.processName();
    let ch = this.next();
    let chs = ch;
    let nullIsUnset = false;
    switch (ch) {
      case '}':
        return '${' + name + '}';
      case ':':
      case '+':
      case '-':
      case '?':
      case '#':
      case '%': {
        if (ch === ':') {
          nullIsUnset = true;
          ch = this.next();
          chs += ch;
        }
        const rawEscapes = ch === '#' || ch === '%';
        if (nullIsUnset && rawEscapes) throw new ShellSyntaxError(`unsupported modifier (${chs}) in substitution`);
        const word = this.stopOnOrMissing('}', rawEscapes, "syntax error: missing '}'");
        return '${' + name + chs + word + '}';
      }
      case '/': {
        if (this.peek() === '/') this.next();
        const pattern = this.stopOnOrMissing('/', true, "syntax error: missing '/' in ${}");
        const replacement = this.stopOnOrMissing('}', true, "syntax error: missing '}'");
        return '${' + name + '/' + pattern + '/' + replacement + '}';
      }
      default:
        throw new ShellSyntaxError(`unsupported modifier (${chs}) in substitution`);
    }
  }

  private stopOnOrMissing(stop: string, rawEscapes: boolean, missing: string): string {
    try {
      return this.processStopOn(stop, rawEscapes)[0];
    } catch (e) {
      if (e instanceof ShellSyntaxError && this.peek() === EOF) throw new ShellSyntaxError(missing);
      throw e;
    }
  }

  private processName(): string {
    let name = '';
    for (let ch = this.peek(); ch !== EOF; ch = this.peek()) {
      if (name.length === 0 && DIGIT_RE.test(ch)) {
        while (this.peek() !== EOF && DIGIT_RE.test(this.peek())) name += this.next();
        return name;
      }
      if (name.length === 0 && '@*#?-$!0'.includes(ch)) return this.next();
      if (!LETTER_RE.test(ch) && !DIGIT_RE.test(ch) && ch !== '_') break;
      name += this.next();
    }
    return name;
  }

  private processPossibleHeredoc(): string {
    this.next();
    if (this.peek() !== '<') return '<';
    this.next();
    let space = '';
    for (let c = this.peek(); c === '\t' || c === '\r' || c === ' '; c = this.peek()) space += this.next();
    return '<<' + space;
  }
}

/** A heredoc redirection found on an instruction line (its body is read later). */
export interface HeredocWord {
  name: string;
  expand: boolean;
  chomp: boolean;
  fileDescriptor?: number;
  /** Span of the `<<EOF` word in the line passed to `heredocsFromLine`. */
  start: number;
  end: number;
}

/** A heredoc word BuildKit rejects (for example an unterminated quote in the delimiter). */
export class HeredocSyntaxError extends Error {}

const HEREDOC_RE = /^(\d*)<<(-?)[\t\n\f\r ]*([^<]*)$/;

function lexWords(rawQuotes: boolean, src: string): WordSpan[] {
  const lexer = new RawShellLexer(rawQuotes, false);
  try {
    return lexer.words(src);
  } catch (e) {
    if (e instanceof ShellSyntaxError) throw new HeredocSyntaxError(`failed to process ${JSON.stringify(src)}: ${e.message}`);
    throw e;
  }
}

/** BuildKit `ParseHeredoc`: the heredoc a single word denotes, or undefined. */
export function parseHeredocWord(word: string): Omit<HeredocWord, 'start' | 'end'> | undefined {
  const m = HEREDOC_RE.exec(word);
  if (!m) return undefined;
  const rest = m[3]!;
  if (rest.length === 0) return undefined;
  const words = lexWords(false, rest);
  if (words.length !== 1) return undefined;
  const raw = lexWords(true, rest);
  if (raw.length !== words.length) {
    throw new HeredocSyntaxError(`internal lexing of heredoc produced inconsistent results: ${rest}`);
  }
  const quotes = (s: string): number => s.split("'").length - 1 + (s.split('"').length - 1);
  const name = words[0]!.value;
  const result: Omit<HeredocWord, 'start' | 'end'> = {
    name,
    expand: quotes(name) === quotes(raw[0]!.value),
    chomp: m[2] === '-',
  };
  if (m[1] !== '') result.fileDescriptor = Math.min(Number(m[1]), Number.MAX_SAFE_INTEGER);
  return result;
}

export interface LineHeredocs {
  docs: HeredocWord[];
  /** A `<<-` word followed by another word (`<<- EOF`): BuildKit reads no heredoc there. */
  spacedChomp?: { start: number; end: number };
}

/** BuildKit `heredocsFromLine`: every heredoc redirection on an instruction line, in order. */
export function heredocsFromLine(line: string): LineHeredocs {
  let words: WordSpan[];
  try {
    words = new RawShellLexer(true, true).words(line);
  } catch (e) {
    if (e instanceof ShellSyntaxError) return { docs: [] }; // BuildKit ignores this error: no words, no heredocs
    throw e;
  }
  const out: LineHeredocs = { docs: [] };
  words.forEach((w, i) => {
    const doc = parseHeredocWord(w.value);
    if (doc) out.docs.push({ ...doc, start: w.start, end: w.end });
    else if (!out.spacedChomp && /^\d*<<-$/.test(w.value) && i + 1 < words.length) {
      out.spacedChomp = { start: w.start, end: words[i + 1]!.end };
    }
  });
  return out;
}
