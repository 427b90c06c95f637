import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { BuildError } from '@tbuild/errors';
import { cleanPath } from './go-path.ts';
import { BadPatternError } from './go-match.ts';
import { badPattern, ContextErrorCode } from './errors.ts';
import { compilePattern, PatternList } from './pattern-matcher.ts';
import type { MatchState } from './pattern-matcher.ts';

/** One line of a .dockerignore file after Docker's normalisation (moby `ignorefile.ReadAll`). */
export interface IgnorePattern {
  /** Cleaned pattern without the leading `!` and without a leading `/`. */
  pattern: string;
  /** `!pattern`: re-include what earlier lines excluded. */
  negate: boolean;
  /** 1-based line in the file, for error messages. */
  line: number;
}

const BOM = '\uFEFF';

/**
 * Parses .dockerignore text like Docker: BOM stripped, `#` comments only at column 0, lines
 * trimmed, blank lines skipped, `!` re-includes, each pattern `path.Clean`ed and stripped of a
 * leading `/`. Throws a BuildError (with the line) for a malformed pattern or a lone `!`.
 */
export function parseDockerignore(text: string, fileName = '.dockerignore'): IgnorePattern[] {
  const out: IgnorePattern[] = [];
  const lines = (text.startsWith(BOM) ? text.slice(1) : text).split('\n');
  let offset = text.startsWith(BOM) ? 1 : 0;
  lines.forEach((rawLine, i) => {
    const lineStart = offset;
    offset += rawLine.length + 1;
    const raw = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (raw.startsWith('#')) return;
    let p = raw.trim();
    if (p === '') return;
    const negate = p.startsWith('!');
    if (negate) p = p.slice(1).trim();
    if (p.length > 0) {
      p = cleanPath(p);
      if (p.length > 1 && p.startsWith('/')) p = p.slice(1);
    }
    const location = {
      file: { path: fileName, text },
      range: {
        start: { line: i + 1, column: 1, offset: lineStart },
        end: { line: i + 1, column: raw.length + 1, offset: lineStart + raw.length },
      },
    };
    if (negate && p === '') {
      throw new BuildError({
        code: ContextErrorCode.badPattern,
        message: 'illegal exclusion pattern: "!"',
        hint: 'write the path to re-include after the "!"',
        location,
      });
    }
    try {
      compilePattern(negate ? '!' + p : p);
    } catch (e) {
      if (e instanceof BadPatternError) throw badPattern(p, fileName, location);
      throw e;
    }
    out.push({ pattern: p, negate, line: i + 1 });
  });
  return out;
}

/**
 * Decides which context paths Docker leaves out of the build context. Paths are
 * context-relative with `/` separators (`src/app.ts`, no leading `/`). The last matching
 * pattern wins; a pattern matching a directory excludes everything below it unless a later
 * `!` pattern re-includes part of it. `isDir` does not change the answer (Docker cleans a
 * trailing `/` off patterns, so `docs/` also matches a file named `docs`); it is accepted so
 * callers can pass what they know.
 */
export class IgnoreMatcher {
  readonly patterns: readonly IgnorePattern[];
  /** The file the patterns came from, when loaded with loadIgnoreFile. */
  readonly file: string | undefined;
  private readonly list: PatternList;

  constructor(patterns: readonly IgnorePattern[], file?: string) {
    this.patterns = patterns;
    this.file = file;
    try {
      this.list = new PatternList(patterns.map((p) => compilePattern(p.negate ? '!' + p.pattern : p.pattern)));
    } catch (e) {
      if (e instanceof BadPatternError) throw badPattern(e.pattern, file ?? '.dockerignore');
      throw e;
    }
  }

  static none(): IgnoreMatcher {
    return new IgnoreMatcher([]);
  }

  get isEmpty(): boolean {
    return this.patterns.length === 0;
  }

  matches(relPath: string, _isDir = false): boolean {
    const p = cleanPath(relPath).replace(/^\/+/, '');
    if (p === '.' || p === '' || this.isEmpty) return false;
    return this.list.matchesPath(p);
  }

  /**
   * True when `relDir` is excluded and no `!` exception can bring back anything inside it, so
   * a walk may skip the directory without reading it. Mirrors fsutil, so the files a build
   * sees are exactly those BuildKit would transfer.
   */
  excludesWholeDir(relDir: string): boolean {
    const p = cleanPath(relDir).replace(/^\/+/, '');
    if (p === '.' || p === '' || this.isEmpty) return false;
    return this.list.matchesPath(p) && this.list.canSkipMatchedDir(p);
  }

  /** One walk step (see PatternList.step): the state of `relPath` given its parent's state. */
  step(relPath: string, parent: MatchState | undefined): MatchState {
    return this.list.step(relPath, parent);
  }

  canSkipMatchedDir(relDir: string): boolean {
    return this.list.canSkipMatchedDir(relDir);
  }

  /**
   * Directories whose every entry is excluded, as a scan of the context can leave them out:
   * literal patterns (`node_modules`, `build/out`) whose whole directory is excluded, and
   * `**\/NAME` anywhere when no `!` pattern could bring anything back. Exact, never more:
   * what a scan leaves out cannot change a selection.
   */
  wholeDirs(): { paths: string[]; names: string[] } {
    const out = { paths: [] as string[], names: [] as string[] };
    const negations = this.patterns.some((p) => p.negate);
    for (const { pattern, negate } of this.patterns) {
      if (negate) continue;
      const anywhere = /^\*\*\/([^*?[\\/]+)$/.exec(pattern);
      if (anywhere && !negations) out.names.push(anywhere[1]!);
      else if (!/[*?[\\]/.test(pattern) && this.excludesWholeDir(pattern)) out.paths.push(pattern);
    }
    return out;
  }
}

/**
 * Loads the ignore file Docker would use: `<Dockerfile>.dockerignore` next to the Dockerfile
 * wins over `<context>/.dockerignore`; none → an empty matcher. `dockerfilePath` is absolute
 * or relative to `contextDir`. A symlinked ignore file is read only when its target stays
 * inside the directory it was looked up in (a link to a host file is refused, not followed).
 */
export async function loadIgnoreFile(contextDir: string, dockerfilePath = 'Dockerfile'): Promise<IgnoreMatcher> {
  const dockerfile = path.resolve(contextDir, dockerfilePath);
  const candidates: Array<[root: string, file: string]> = [
    [path.dirname(dockerfile), dockerfile + '.dockerignore'],
    [path.resolve(contextDir), path.join(path.resolve(contextDir), '.dockerignore')],
  ];
  for (const [root, file] of candidates) {
    const text = await readConfined(root, file);
    if (text === undefined) continue;
    const shown = path.relative(path.resolve(contextDir), file) || file;
    return new IgnoreMatcher(parseDockerignore(text, shown), shown);
  }
  return IgnoreMatcher.none();
}

// Synchronous: two lstats and a small read on every build's path, each otherwise a trip through
// Node.js's thread pool (as the store's records, @tbuild/cache fs-util.ts).
async function readConfined(root: string, file: string): Promise<string | undefined> {
  let st;
  try {
    st = fs.lstatSync(file);
  } catch {
    return undefined;
  }
  if (st.isSymbolicLink()) {
    let real: string;
    let realRoot: string;
    try {
      [real, realRoot] = [fs.realpathSync(file), fs.realpathSync(root)];
    } catch {
      return undefined;
    }
    if (!real.startsWith(realRoot + path.sep)) {
      throw new BuildError({
        code: ContextErrorCode.ignoreFileEscapes,
        message: `${path.basename(file)} is a symlink to a file outside the build context`,
        hint: 'replace the symlink with a regular file inside the context',
      });
    }
    // Not a regular file (a pipe, say): read without holding up the event loop.
    return fs.statSync(real).isFile() ? fs.readFileSync(real, 'utf8') : fsp.readFile(real, 'utf8');
  }
  if (!st.isFile()) return undefined;
  return fs.readFileSync(file, 'utf8');
}
