import { BuildError } from '@tbuild/errors';
import type { ErrorLocation } from '@tbuild/errors';
import { goQuote } from './chars.ts';

/** What went wrong while expanding one word, before the caller knows where the word is. */
export interface ShellExpansionErrorInit {
  /** The word as written (before expansion). */
  word: string;
  /** BuildKit's reason text, e.g. `syntax error: missing '}'`, `FOO: is not allowed to be unset`. */
  reason: string;
  hint?: string;
  location?: ErrorLocation;
}

/**
 * A word could not be expanded (bad `${…}` syntax, unterminated quote, `${VAR:?msg}` on an
 * unset variable, invalid pattern). The message is BuildKit's: `failed to process "<word>": <reason>`.
 * The expander does not know where the word sits in the Dockerfile; callers attach that with `at()`.
 */
export class ShellExpansionError extends BuildError {
  readonly word: string;
  readonly reason: string;

  constructor(init: ShellExpansionErrorInit) {
    super({
      code: 'TB_PARSE_VARIABLE',
      message: `failed to process ${goQuote(abbreviate(init.word))}: ${init.reason}`,
      ...(init.hint === undefined ? {} : { hint: init.hint }),
      ...(init.location === undefined ? {} : { location: init.location }),
    });
    this.name = 'ShellExpansionError';
    this.word = init.word;
    this.reason = init.reason;
  }

  /** The same error, placed at `location` (the word's range in the user's file). */
  at(location: ErrorLocation): ShellExpansionError {
    return new ShellExpansionError({
      word: this.word,
      reason: this.reason,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      location,
    });
  }
}

// A word can be megabytes long; the message names it, the location shows it.
const MAX_QUOTED = 200;

function abbreviate(word: string): string {
  if (word.length <= MAX_QUOTED) return word;
  let cut = MAX_QUOTED;
  const last = word.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut--; // do not split a surrogate pair
  return word.slice(0, cut) + '...';
}

/**
 * Internal failure raised deep in the expander; turned into a ShellExpansionError (with the
 * whole word) at the top. Kept separate so the `${` handler can tell user errors from bugs when
 * it rewrites "ran out of input" failures into `missing '}'`, as BuildKit does.
 */
export class ShellSyntaxFailure extends Error {
  constructor(
    readonly reason: string,
    readonly hint?: string,
  ) {
    super(reason);
    this.name = 'ShellSyntaxFailure';
  }
}

const SUPPORTED_FORMS =
  'supported forms are ${VAR}, ${VAR:-word}, ${VAR-word}, ${VAR:+word}, ${VAR+word}, ${VAR:?message}, ' +
  '${VAR?message}, ${VAR#pattern}, ${VAR##pattern}, ${VAR%pattern}, ${VAR%%pattern}, ' +
  '${VAR/pattern/replacement} and ${VAR//pattern/replacement}';

export function missingBrace(): ShellSyntaxFailure {
  return new ShellSyntaxFailure("syntax error: missing '}'", "close the substitution with '}'");
}

export function unsupportedModifier(chs: string): ShellSyntaxFailure {
  return new ShellSyntaxFailure(`unsupported modifier (${chs}) in substitution`, SUPPORTED_FORMS);
}
