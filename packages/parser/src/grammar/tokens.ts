/**
 * Token definitions for the instruction-argument grammar (stage 2 of the parser).
 *
 * The escape character (`\` or a backtick, chosen by the `# escape=` directive) changes how
 * argument text is tokenised, so every escape-dependent token exists twice, once per escape
 * character, under a shared abstract *category* the parser consumes. Two lexer instances are
 * built at module load (see `lexers.ts`) and the scanner picks one per file.
 */

import { createToken, Lexer, type TokenType } from 'chevrotain';
import { GO_SPACE_CLASS, isGoSpace } from '../text.ts';

export type EscapeChar = '\\' | '`';

// ---------------------------------------------------------------------------------------
// Leading builder flags (`--name=value` words before the arguments), BuildKit's
// `extractBuilderFlags`: quotes are removed, the escape character escapes the next
// character (also inside single quotes), a bare `--` ends the flags.

/** Scans one flag word starting at `offset` (which starts with `--`); returns its end and value. */
export function scanFlagWord(text: string, offset: number, esc: EscapeChar): { end: number; value: string } {
  let value = '';
  let quote = '';
  let pos = offset;
  while (pos < text.length) {
    let ch = text[pos]!;
    if (quote === '') {
      if (isGoSpace(ch)) break;
      if (ch === "'" || ch === '"') {
        quote = ch;
        pos++;
        continue;
      }
    } else if (ch === quote) {
      quote = '';
      pos++;
      continue;
    }
    if (ch === esc) {
      if (pos + 1 === text.length) {
        quote = '';
        pos++;
        continue; // an escape at the very end is dropped
      }
      pos++;
      ch = text[pos]!;
    }
    value += ch;
    pos++;
  }
  return { end: pos, value };
}

function flagPattern(esc: EscapeChar, wantTerminator: boolean) {
  let lastText = '';
  let lastOffset = -1;
  let last = { end: 0, value: '' };
  return (text: string, offset: number): [string] & { payload?: string } | null => {
    if (text.charCodeAt(offset) !== 45 || text.charCodeAt(offset + 1) !== 45) return null; // "--"
    if (text !== lastText || offset !== lastOffset) {
      last = scanFlagWord(text, offset, esc);
      lastText = text;
      lastOffset = offset;
    }
    if ((last.value === '--') !== wantTerminator) return null;
    const m = [text.slice(offset, last.end)] as [string] & { payload?: string };
    m.payload = last.value;
    return m;
  };
}

export const FlagSpace = createToken({ name: 'FlagSpace', pattern: new RegExp(`[${GO_SPACE_CLASS}]+`), group: Lexer.SKIPPED });
/** A leading `--name[=value]` word; `payload` holds its value with quotes and escapes removed. */
export const FlagWord = createToken({ name: 'FlagWord', pattern: Lexer.NA });
/** A bare `--`: no flags after it. */
export const EndOfFlags = createToken({ name: 'EndOfFlags', pattern: Lexer.NA });
// "The rest of the text" without scanning it (a regex would cost O(n) per ONBUILD level).
const restOfText = {
  exec: (text: string, offset: number): [string] | null => (offset < text.length ? [text.slice(offset)] : null),
};
/** The arguments: everything from the first word that is not a flag. */
export const Rest = createToken({ name: 'Rest', pattern: restOfText, line_breaks: true });
/** The arguments after a bare `--`. */
export const RestAll = createToken({ name: 'RestAll', pattern: restOfText, line_breaks: true });

function flagTokens(esc: EscapeChar, suffix: string): { word: TokenType; end: TokenType } {
  return {
    end: createToken({
      name: `EndOfFlags${suffix}`,
      pattern: { exec: flagPattern(esc, true) },
      categories: [EndOfFlags],
      line_breaks: false,
      start_chars_hint: ['-'],
      push_mode: 'rest',
    }),
    word: createToken({
      name: `FlagWord${suffix}`,
      pattern: { exec: flagPattern(esc, false) },
      categories: [FlagWord],
      line_breaks: false,
      start_chars_hint: ['-'],
    }),
  };
}

export const flagTokensBackslash = flagTokens('\\', 'Backslash');
export const flagTokensBacktick = flagTokens('`', 'Backtick');

// ---------------------------------------------------------------------------------------
// Shell-like words with quotes and escapes kept (BuildKit's `parseWords`, used by ARG, ENV
// and LABEL). Inside double quotes the escape character escapes the next character; inside
// single quotes nothing is special; an escape at the very end of the text is dropped.

export const Space = createToken({ name: 'Space', pattern: new RegExp(`[${GO_SPACE_CLASS}]+`), line_breaks: true });
export const SingleQuoted = createToken({ name: 'SingleQuoted', pattern: /'[^']*'?/, line_breaks: true });
export const DoubleQuoted = createToken({ name: 'DoubleQuoted', pattern: Lexer.NA });
export const EscapedChar = createToken({ name: 'EscapedChar', pattern: Lexer.NA });
export const TrailingEscape = createToken({ name: 'TrailingEscape', pattern: Lexer.NA });
export const Bare = createToken({ name: 'Bare', pattern: Lexer.NA });

function wordTokens(esc: EscapeChar, suffix: string): TokenType[] {
  const e = esc === '\\' ? '\\\\' : '`';
  return [
    createToken({
      name: `DoubleQuoted${suffix}`,
      pattern: new RegExp(`"(?:${e}[^]|[^"${e}])*(?:"|${e})?`),
      categories: [DoubleQuoted],
      line_breaks: true,
    }),
    createToken({ name: `EscapedChar${suffix}`, pattern: new RegExp(`${e}[^]`), categories: [EscapedChar], line_breaks: true }),
    createToken({
      name: `TrailingEscape${suffix}`,
      // Chevrotain forbids `$` anchors in token patterns, hence a custom matcher.
      pattern: {
        exec: (text: string, offset: number): [string] | null =>
          text[offset] === esc && offset + 1 === text.length ? [esc] : null,
      },
      categories: [TrailingEscape],
      line_breaks: false,
      start_chars_hint: [esc],
    }),
    createToken({
      name: `Bare${suffix}`,
      pattern: new RegExp(`[^${GO_SPACE_CLASS}"'${e}]+`),
      categories: [Bare],
    }),
  ];
}

export const wordTokensBackslash = wordTokens('\\', 'Backslash');
export const wordTokensBacktick = wordTokens('`', 'Backtick');

// ---------------------------------------------------------------------------------------
// JSON (exec form). Exactly RFC 8259, as Go's encoding/json accepts it.

export const JsonSpace = createToken({ name: 'JsonSpace', pattern: /[ \t\n\r]+/, group: Lexer.SKIPPED, line_breaks: true });
export const LBracket = createToken({ name: 'LBracket', pattern: '[' });
export const RBracket = createToken({ name: 'RBracket', pattern: ']' });
export const LBrace = createToken({ name: 'LBrace', pattern: '{' });
export const RBrace = createToken({ name: 'RBrace', pattern: '}' });
export const Comma = createToken({ name: 'Comma', pattern: ',' });
export const Colon = createToken({ name: 'Colon', pattern: ':' });
export const JsonString = createToken({
  name: 'JsonString',
  pattern: /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/,
});
export const JsonNumber = createToken({ name: 'JsonNumber', pattern: /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/ });
export const JsonTrue = createToken({ name: 'JsonTrue', pattern: 'true' });
export const JsonFalse = createToken({ name: 'JsonFalse', pattern: 'false' });
export const JsonNull = createToken({ name: 'JsonNull', pattern: 'null' });

export const jsonTokens: TokenType[] = [
  JsonSpace,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
  Comma,
  Colon,
  JsonString,
  JsonNumber,
  JsonTrue,
  JsonFalse,
  JsonNull,
];

/** Every token type the parser may see (its vocabulary). */
export const allTokens: TokenType[] = [
  FlagSpace,
  FlagWord,
  EndOfFlags,
  flagTokensBackslash.end,
  flagTokensBackslash.word,
  flagTokensBacktick.end,
  flagTokensBacktick.word,
  Rest,
  RestAll,
  Space,
  SingleQuoted,
  DoubleQuoted,
  EscapedChar,
  TrailingEscape,
  Bare,
  ...wordTokensBackslash,
  ...wordTokensBacktick,
  ...jsonTokens,
];
