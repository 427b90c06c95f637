/**
 * Character classes and string helpers that reproduce the Go standard library functions
 * BuildKit's parser relies on (`unicode.IsSpace`, `strings.TrimSpace`, `strconv.Quote`).
 */

/** Go `unicode.IsSpace`, as a regular-expression character class body. */
export const GO_SPACE_CLASS = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

const SPACE_RE = new RegExp(`[${GO_SPACE_CLASS}]`);
const LEADING_SPACE_RE = new RegExp(`^[${GO_SPACE_CLASS}]+`);
const TRAILING_SPACE_RE = new RegExp(`[${GO_SPACE_CLASS}]+$`);

/** Go `unicode.IsSpace` for one UTF-16 unit (every White_Space character is in the BMP). */
export function isGoSpace(ch: string): boolean {
  return ch.length > 0 && SPACE_RE.test(ch);
}

/** Length of the leading `unicode.IsSpace` run of `s`. */
export function leadingSpaceLength(s: string): number {
  const m = LEADING_SPACE_RE.exec(s);
  return m ? m[0].length : 0;
}

/** Length of the trailing `unicode.IsSpace` run of `s`. */
export function trailingSpaceLength(s: string): number {
  // Anchored at the end: search only the tail so a long line costs O(tail), not O(n^2).
  let i = s.length;
  while (i > 0 && isGoSpace(s[i - 1]!)) i--;
  return s.length - i;
}

/** Go `strings.TrimSpace`: returns the start and end of the trimmed part of `s`. */
export function trimSpaceBounds(s: string): [number, number] {
  const start = leadingSpaceLength(s);
  if (start === s.length) return [start, start];
  return [start, s.length - trailingSpaceLength(s)];
}

/** BuildKit's `reWhitespace` (`[\t\v\f\r ]+`), the separator of whitespace-split arguments. */
export function isSplitSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\v' || ch === '\f' || ch === '\r';
}

/** Number of bytes `s` takes in UTF-8 (lone surrogates count as the 3 bytes of U+FFFD). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

const PRINTABLE_RE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** Go `strconv.Quote`: a double-quoted Go string literal. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const r = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') {
      out += '\\' + ch;
      continue;
    }
    if (r >= 0x20 && r < 0x7f) {
      out += ch;
      continue;
    }
    const isSurrogate = r >= 0xd800 && r <= 0xdfff;
    if (r >= 0x80 && !isSurrogate && PRINTABLE_RE.test(ch)) {
      out += ch;
      continue;
    }
    switch (ch) {
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (r < 0x20 || r === 0x7f) out += '\\x' + hex(r, 2);
    else if (isSurrogate) out += '\ufffd'; // what a UTF-8 encoder writes for a lone surrogate
    else if (r < 0x10000) out += '\\u' + hex(r, 4);
    else out += '\\U' + hex(r, 8);
  }
  return out + '"';
}

/** Go `fmt.Sprintf("%q", []string{...})`. */
export function goQuoteList(items: readonly string[]): string {
  return '[' + items.map(goQuote).join(' ') + ']';
}
