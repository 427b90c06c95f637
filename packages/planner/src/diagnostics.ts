import { BuildError, diagnostic } from '@tbuild/errors';
import type { Diagnostic, SourceFile, SourceRange } from '@tbuild/errors';

/**
 * Collects every problem of a plan so the user sees them all at once. User mistakes arrive as
 * BuildErrors (thrown by the word expander, the resolver, the context hasher, our own checks);
 * anything else is a tbuild bug and is rethrown untouched.
 */
export class Diagnostics {
  readonly errors: Diagnostic[] = [];
  readonly warnings: Diagnostic[] = [];

  constructor(readonly file: SourceFile) {}

  error(code: string, message: string, range?: SourceRange, hint?: string): void {
    this.errors.push(diagnostic({ code, message, hint, location: range ? { file: this.file, range } : undefined }));
  }

  warn(code: string, message: string, range?: SourceRange, hint?: string): void {
    this.warnings.push(
      diagnostic({ code, message, hint, severity: 'warning', location: range ? { file: this.file, range } : undefined }),
    );
  }

  /** Records a caught BuildError, pointing its location-less diagnostics at `range`. */
  absorb(e: unknown, range: SourceRange): void {
    if (!(e instanceof BuildError)) throw e;
    for (const d of e.diagnostics) {
      this.errors.push({ ...d, location: d.location ?? { file: this.file, range }, severity: 'error' });
    }
  }

  /** Runs `fn`, absorbing a BuildError at `range`; returns undefined when it failed. */
  async capture<T>(range: SourceRange, fn: () => Promise<T> | T): Promise<T | undefined> {
    try {
      return await fn();
    } catch (e) {
      this.absorb(e, range);
      return undefined;
    }
  }
}

/** Thrown by lowering code for a user mistake at a known place. */
export function planError(code: string, message: string, file: SourceFile, range: SourceRange, hint?: string): BuildError {
  return new BuildError({ code, message, hint, location: { file, range } });
}
