import { BuildError, suggest } from '@tbuild/errors';
import type { ErrorLocation } from '@tbuild/errors';

/**
 * Error codes of the build context. Wording follows BuildKit where the condition is the same
 * (dockerfile-semantics.md §12).
 */
export const ContextErrorCode = {
  sourceNotFound: 'TB_CONTEXT_SOURCE_NOT_FOUND',
  badPattern: 'TB_CONTEXT_BAD_PATTERN',
  notDirectory: 'TB_CONTEXT_NOT_A_DIRECTORY',
  ignoreFileEscapes: 'TB_CONTEXT_IGNORE_FILE_ESCAPES',
  tooManySymlinks: 'TB_CONTEXT_TOO_MANY_SYMLINKS',
  unreadable: 'TB_CONTEXT_UNREADABLE',
} as const;

export interface NotFoundDetails {
  /** The cleaned source as BuildKit prints it, e.g. `/missing`. */
  shown: string;
  /** True when the file exists but .dockerignore (or an ignored parent) hides it. */
  ignored: boolean;
  /** Names next to the missing one, for a "did you mean" hint. */
  siblings: string[];
  missingName: string;
}

export function sourceNotFound(d: NotFoundDetails): BuildError {
  let hint: string | undefined;
  if (d.ignored) hint = `"${d.shown}" exists but is excluded by .dockerignore`;
  else {
    const near = suggest(d.missingName, d.siblings);
    if (near !== undefined) hint = `did you mean "${near}"?`;
  }
  return new BuildError({
    code: ContextErrorCode.sourceNotFound,
    message: `failed to compute cache key: ${JSON.stringify(d.shown)}: not found`,
    ...(hint !== undefined ? { hint } : {}),
  });
}

export function badPattern(pattern: string, origin: string, location?: ErrorLocation): BuildError {
  return new BuildError({
    code: ContextErrorCode.badPattern,
    message: `${origin}: syntax error in pattern ${JSON.stringify(pattern)}`,
    hint: 'patterns use Go filepath.Match syntax: *, ?, [a-z], [^a-z], \\ to escape, and ** for any number of directories',
    ...(location ? { location } : {}),
  });
}

export function unreadable(path: string, cause: unknown): BuildError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? 'error';
  return new BuildError(
    {
      code: ContextErrorCode.unreadable,
      message: `cannot read build context file ${JSON.stringify(path)}: ${code}`,
      hint: code === 'EACCES' ? 'make the file readable, or exclude it in .dockerignore' : undefined,
    },
    { cause },
  );
}
