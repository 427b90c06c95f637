// Character classes as Go's `unicode` package defines them. BuildKit's word processor is
// written against those, so names, word splitting and quoting must use the same sets.

/** Returned by the scanner past the last character (Go's `scanner.EOF`). */
export const EOF = -1;

const LETTER = /\p{L}/u;
const DECIMAL_DIGIT = /\p{Nd}/u;
const PRINTABLE = /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u;

/**
 * Go's `unicode.IsSpace`. Not JavaScript's `\s`: Go counts U+0085 (NEL) and not U+FEFF.
 */
export function isSpace(c: number): boolean {
  if (c < 0x80) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  return (
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

/** Go's `unicode.IsLetter`, with an ASCII fast path (this runs for every name character). */
export function isLetter(c: number): boolean {
  if (c < 0x80) {
    const lower = c | 0x20;
    return lower >= 0x61 && lower <= 0x7a;
  }
  return LETTER.test(String.fromCodePoint(c));
}

/** Go's `unicode.IsDigit` (any decimal digit, not only ASCII). */
export function isDigit(c: number): boolean {
  if (c < 0x80) return c >= 0x30 && c <= 0x39;
  return DECIMAL_DIGIT.test(String.fromCodePoint(c));
}

/** Go's `strconv.Quote`, so messages quote the word exactly as BuildKit's `%q` does. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (c) {
      case 0x22: out += '\\"'; continue;
      case 0x5c: out += '\\\\'; continue;
      case 0x07: out += '\\a'; continue;
      case 0x08: out += '\\b'; continue;
      case 0x0c: out += '\\f'; continue;
      case 0x0a: out += '\\n'; continue;
      case 0x0d: out += '\\r'; continue;
      case 0x09: out += '\\t'; continue;
      case 0x0b: out += '\\v'; continue;
    }
    if (c >= 0x20 && c < 0x7f) {
      out += ch;
      continue;
    }
    const surrogate = c >= 0xd800 && c <= 0xdfff;
    if (c >= 0x80 && !surrogate && PRINTABLE.test(ch)) {
      out += ch;
      continue;
    }
    if (c < 0x80) out += '\\x' + c.toString(16).padStart(2, '0');
    else if (surrogate) out += '\\ufffd'; // a lone surrogate has no UTF-8 form; Go shows U+FFFD
    else if (c < 0x10000) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += '\\U' + c.toString(16).padStart(8, '0');
  }
  return out + '"';
}
