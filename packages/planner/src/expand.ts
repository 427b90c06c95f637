import { BuildError } from '@tbuild/errors';
import type { SourceFile, SourceRange } from '@tbuild/errors';
import { expandWord, expandWords, expandWordWithMatches } from '@tbuild/parser';
import type { VarLookup } from '@tbuild/parser';

/**
 * Builder-side variable expansion with the file's escape token. A failing expansion keeps its
 * message and code but points at the word that failed (the expander knows no locations).
 */
export class Expander {
  constructor(
    readonly escapeToken: '\\' | '`',
    private readonly file: SourceFile,
  ) {}

  word(text: string, env: VarLookup, range: SourceRange): string {
    return this.located(range, () => expandWord(text, env, { escapeToken: this.escapeToken }));
  }

  words(text: string, env: VarLookup, range: SourceRange): string[] {
    return this.located(range, () => expandWords(text, env, { escapeToken: this.escapeToken }));
  }

  /** Expansion plus the names that were not defined (for UndefinedArgInFrom). */
  withMatches(text: string, env: VarLookup, range: SourceRange): { value: string; unmatched: Set<string> } {
    return this.located(range, () => {
      const r = expandWordWithMatches(text, env, { escapeToken: this.escapeToken });
      return { value: r.value, unmatched: r.unmatched };
    });
  }

  /** Heredoc bodies of COPY/ADD: quotes are kept, `\` is the escape (BuildKit's ExpandRaw). */
  raw(text: string, env: VarLookup, range: SourceRange): string {
    return this.located(range, () => expandWord(text, env, { escapeToken: '\\', keepQuotes: true }));
  }

  private located<T>(range: SourceRange, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof BuildError && e.diagnostics.some((d) => !d.location)) {
        throw new BuildError(
          e.diagnostics.map((d) => ({ ...d, location: d.location ?? { file: this.file, range } })),
          { cause: e },
        );
      }
      throw e;
    }
  }
}
