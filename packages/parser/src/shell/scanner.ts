import { EOF, isDigit, isLetter } from './chars.ts';

/** Where variable values come from. A `Map<string, string>` satisfies it. */
export interface VarLookup {
  /** The value of `name`, or undefined when it is not set (set-but-empty is `''`). */
  get(name: string): string | undefined;
}

const BOM = 0xfeff;

/**
 * Reads one word by code point (like Go's text/scanner) and records which variables were
 * looked up. The word processor builds on it.
 */
export class WordScanner {
  /** Names looked up and found (possibly set to ''). */
  readonly matched = new Set<string>();
  /** Names looked up and not set. */
  readonly unmatched = new Set<string>();
  protected pos = 0;

  constructor(
    protected readonly src: string,
    private readonly env: VarLookup,
  ) {
    // BuildKit reads the word with Go's text/scanner, which skips a leading byte-order mark.
    if (src.charCodeAt(0) === BOM) this.pos = 1;
  }

  protected peek(): number {
    return this.pos < this.src.length ? this.src.codePointAt(this.pos)! : EOF;
  }

  protected next(): number {
    const c = this.peek();
    if (c !== EOF) this.pos += c > 0xffff ? 2 : 1;
    return c;
  }

  // A name: letters, digits, `_`; or a run of digits (positional); or one special parameter.
  protected processName(): string {
    const start = this.pos;
    const first = this.peek();
    if (first === EOF) return '';
    if (isDigit(first)) {
      while (this.peek() !== EOF && isDigit(this.peek())) this.next();
      return this.src.slice(start, this.pos);
    }
    if (isSpecialParam(first)) {
      this.next();
      return this.src.slice(start, this.pos);
    }
    for (let c = first; c !== EOF && (isLetter(c) || isDigit(c) || c === 0x5f); c = this.peek()) this.next();
    return this.src.slice(start, this.pos);
  }

  protected getEnv(name: string): string | undefined {
    const value = this.env.get(name);
    if (value === undefined) this.unmatched.add(name);
    else this.matched.add(name);
    return value;
  }
}

// POSIX special parameters: never set in a Dockerfile, but parsed as names (so `$@x` is `x`).
function isSpecialParam(c: number): boolean {
  switch (c) {
    case 0x40 /* @ */:
    case 0x2a /* * */:
    case 0x23 /* # */:
    case 0x3f /* ? */:
    case 0x2d /* - */:
    case 0x24 /* $ */:
    case 0x21 /* ! */:
    case 0x30 /* 0 */:
      return true;
    default:
      return false;
  }
}
