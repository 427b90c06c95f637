/**
 * Diagnostic codes the parser emits. Stable strings: tests, docs and users' scripts match on
 * them. Messages reuse BuildKit's wording wherever the condition is the same
 * (shared/reference/dockerfile-semantics.md §12); BuildKit's `dockerfile parse error on line N:`
 * prefix is left out because every diagnostic carries its file:line:column.
 */
export const ParseCodes = {
  /** A physical line longer than 65535 bytes (BuildKit's scanner limit). */
  LINE_TOO_LONG: 'TB_PARSE_LINE_TOO_LONG',
  /** `only one <key> parser directive can be used`. */
  DUPLICATE_DIRECTIVE: 'TB_PARSE_DUPLICATE_DIRECTIVE',
  /** `# escape=` with something other than `\` or a backtick. */
  INVALID_ESCAPE: 'TB_PARSE_INVALID_ESCAPE',
  /** `file with no instructions`. */
  EMPTY_FILE: 'TB_PARSE_EMPTY_FILE',
  /** A heredoc whose terminator never comes. */
  UNTERMINATED_HEREDOC: 'TB_PARSE_UNTERMINATED_HEREDOC',
  /** A heredoc delimiter BuildKit's lexer rejects (unbalanced quotes). */
  HEREDOC_SYNTAX: 'TB_PARSE_HEREDOC_SYNTAX',
  /** `COPY <<EOF <<EOF2`: a heredoc in the destination position. */
  HEREDOC_DESTINATION: 'TB_PARSE_HEREDOC_DESTINATION',
  /** A JSON array with a non-string element. */
  JSON_NOT_STRINGS: 'TB_PARSE_JSON_NOT_STRINGS',
  /** SHELL in shell form. */
  NOT_JSON: 'TB_PARSE_NOT_JSON',
  /** `ENV key` / `LABEL key` without a value. */
  MISSING_VALUE: 'TB_PARSE_MISSING_VALUE',
  /** `ENV a=b c`: a word without `=` in the key=value form. */
  KEY_VALUE_SYNTAX: 'TB_PARSE_KEY_VALUE_SYNTAX',
  /** `ENV =x`, `ARG =x`. */
  BLANK_NAME: 'TB_PARSE_BLANK_NAME',
  /** Too few or too many arguments. */
  ARGUMENT_COUNT: 'TB_PARSE_ARGUMENT_COUNT',
  /** `unknown instruction: X`. */
  UNKNOWN_INSTRUCTION: 'TB_PARSE_UNKNOWN_INSTRUCTION',
  /** An instruction other than ARG before the first FROM. */
  NO_STAGE: 'TB_PARSE_NO_STAGE',
  /** A flag the instruction does not accept. */
  UNKNOWN_FLAG: 'TB_PARSE_UNKNOWN_FLAG',
  /** The same (non-repeatable) flag twice. */
  DUPLICATE_FLAG: 'TB_PARSE_DUPLICATE_FLAG',
  /** A flag with a missing or malformed value. */
  INVALID_FLAG_VALUE: 'TB_PARSE_INVALID_FLAG_VALUE',
  /** `FROM x AS 1bad`. */
  INVALID_STAGE_NAME: 'TB_PARSE_INVALID_STAGE_NAME',
  /** ONBUILD ONBUILD, ONBUILD FROM, ONBUILD MAINTAINER. */
  INVALID_TRIGGER: 'TB_PARSE_INVALID_TRIGGER',
  /** HEALTHCHECK problems (type, durations, retries). */
  INVALID_HEALTHCHECK: 'TB_PARSE_INVALID_HEALTHCHECK',
  /** `VOLUME ""`. */
  EMPTY_VOLUME: 'TB_PARSE_EMPTY_VOLUME',
  /** A bad `RUN --mount` value. */
  INVALID_MOUNT: 'TB_PARSE_INVALID_MOUNT',
  /** Warning: an empty line inside a continued instruction. */
  EMPTY_CONTINUATION: 'TB_PARSE_EMPTY_CONTINUATION',
  /** Warning: `<<- EOF` (with a space), which BuildKit does not read as a heredoc. */
  HEREDOC_SPACE: 'TB_PARSE_HEREDOC_SPACE',
} as const;

export type ParseCode = (typeof ParseCodes)[keyof typeof ParseCodes];
