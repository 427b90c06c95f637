import { ShellExpansionError, ShellSyntaxFailure } from './errors.ts';
import { ShellWord } from './lexer.ts';
import type { LexMode } from './lexer.ts';
import type { VarLookup } from './scanner.ts';
import { WordSplitter } from './words.ts';

/** Options for expanding one Dockerfile word. All default to BuildKit's default `Lex`. */
export interface ShellOptions {
  /** The Dockerfile's escape character (`# escape=` directive). Default `\`. */
  escapeToken?: '\\' | '`';
  /**
   * Quotes are ordinary characters: kept in the output, and `$` inside them still expands
   * (BuildKit `SkipProcessQuotes`, used for unquoted heredoc bodies): `'$A'` becomes `'value'`.
   */
  keepQuotes?: boolean;
  /**
   * Quotes are honoured but written back (BuildKit `RawQuotes`, used to detect quoted heredoc
   * markers and for RUN display names): `'$A'` stays `'$A'`, `"$A"` becomes `"value"`.
   */
  rawQuotes?: boolean;
  /** Keep escape characters in the output (BuildKit `RawEscapes`, used to scan heredoc markers). */
  keepEscapes?: boolean;
  /** Leave unset variables as written (`$X`, `${X:-d}`) instead of expanding them (BuildKit `SkipUnsetEnv`). */
  skipUnsetEnv?: boolean;
}

/** The expansion of one word plus which variable names it looked up. */
export interface ExpansionResult {
  value: string;
  /** Names that were looked up and set (possibly to ''). */
  matched: Set<string>;
  /** Names that were looked up and not set; the UndefinedVar lint reads these. */
  unmatched: Set<string>;
}

function lexMode(opts: ShellOptions | undefined): LexMode {
  return {
    escape: (opts?.escapeToken ?? '\\').charCodeAt(0),
    rawQuotes: opts?.rawQuotes ?? false,
    skipQuotes: opts?.keepQuotes ?? false,
    rawEscapes: opts?.keepEscapes ?? false,
    skipUnsetEnv: opts?.skipUnsetEnv ?? false,
  };
}

function runShellWord(word: string, env: VarLookup, opts: ShellOptions | undefined, words?: WordSplitter): ExpansionResult {
  const shell = new ShellWord(word, env, lexMode(opts));
  let value: string;
  try {
    value = shell.run(words);
  } catch (e) {
    if (e instanceof ShellSyntaxFailure) {
      throw new ShellExpansionError({ word, reason: e.reason, ...(e.hint === undefined ? {} : { hint: e.hint }) });
    }
    throw e;
  }
  return { value, matched: shell.matched, unmatched: shell.unmatched };
}

/**
 * Expands variables in one word and removes its quotes and escapes (BuildKit `ProcessWord`).
 * Throws ShellExpansionError for malformed input or a failing `${VAR?msg}`.
 */
export function expandWord(word: string, env: VarLookup, opts?: ShellOptions): string {
  return runShellWord(word, env, opts).value;
}

/**
 * Expands a word, then splits it on unquoted whitespace (BuildKit `ProcessWords`, used by
 * EXPOSE and heredoc detection). Whitespace that came from a variable value splits too;
 * quoted and escaped whitespace does not.
 */
export function expandWords(word: string, env: VarLookup, opts?: ShellOptions): string[] {
  const words = new WordSplitter();
  runShellWord(word, env, opts, words);
  return words.finish();
}

/** expandWord, also reporting the variable names that were and were not found. */
export function expandWordWithMatches(word: string, env: VarLookup, opts?: ShellOptions): ExpansionResult {
  return runShellWord(word, env, opts);
}
