import { BuildError, diagnostic, type Diagnostic } from '@tbuild/errors';
import type { Dockerfile, Instruction } from './ast.ts';
import { ParseCodes } from './codes.ts';
import { dumpNode } from './grammar/node.ts';
import { buildInstruction } from './instructions/build.ts';
import { InstructionError } from './instructions/fail.ts';
import { scanDockerfile } from './scanner/scan.ts';

export interface ParseOptions {
  /** Path shown in diagnostics; default `Dockerfile`. */
  file?: string;
}

export interface ParseResult {
  /** Every instruction that parsed without error (the file is unusable when `errors` is non-empty). */
  dockerfile: Dockerfile;
  /** All errors, in file order; empty when the Dockerfile is valid. */
  errors: Diagnostic[];
  /** Warnings (empty continuation lines, `<<- EOF`), in file order. */
  warnings: Diagnostic[];
}

function byPosition(a: Diagnostic, b: Diagnostic): number {
  return (a.location?.range.start.offset ?? 0) - (b.location?.range.start.offset ?? 0);
}

/**
 * Parses Dockerfile text into the typed AST. Never throws for user input: every problem, in
 * every instruction, is returned in `errors`; instructions with errors are left out of the AST.
 */
export function parse(text: string, opts: ParseOptions = {}): ParseResult {
  const scan = scanDockerfile(text, opts.file ?? 'Dockerfile');
  const errors = [...scan.errors];
  const instructions: Instruction[] = [];
  let inStage = false;
  let reportedNoStage = false;
  for (const raw of scan.instructions) {
    const keyword = raw.node.keyword.toUpperCase();
    let built: Instruction | undefined;
    try {
      built = buildInstruction(raw);
    } catch (e) {
      if (!(e instanceof InstructionError)) throw e;
      errors.push(
        diagnostic({
          code: e.code,
          message: e.message,
          location: { file: scan.file, range: e.range },
          ...(e.hint ? { hint: e.hint } : {}),
        }),
      );
    }
    if (keyword === 'FROM') inStage = true;
    else if (!inStage && keyword !== 'ARG' && built && !reportedNoStage) {
      // BuildKit `instructions.Parse`: only ARG may come before the first FROM.
      reportedNoStage = true;
      errors.push(
        diagnostic({
          code: ParseCodes.NO_STAGE,
          message: 'no build stage in current context',
          location: { file: scan.file, range: built.keywordRange },
          hint: `start a stage with FROM <image> before this ${keyword}; only ARG may come before the first FROM`,
        }),
      );
    }
    if (built) instructions.push(built);
  }
  errors.sort(byPosition);
  const warnings = [...scan.warnings].sort(byPosition);
  const dockerfile: Dockerfile = {
    directives: scan.directives,
    instructions,
    range: scan.source.range(0, scan.source.text.length),
    source: scan.file,
  };
  return { dockerfile, errors, warnings };
}

/** Like `parse`, but throws one BuildError holding every error. */
export function parseDockerfile(text: string, opts?: ParseOptions): Dockerfile {
  const r = parse(text, opts);
  if (r.errors.length > 0) throw new BuildError(r.errors);
  return r.dockerfile;
}

/**
 * The parse tree in BuildKit's `Node.Dump()` format, one `(instruction ...)` line per
 * instruction, each ending in `\n`: exactly the `result` files of BuildKit's parser corpus.
 * Runs only the first pass, like BuildKit's `parser.Parse`: unknown instructions and flags are
 * kept. Throws a BuildError for the errors that pass reports.
 */
export function dumpBuildkit(text: string, opts: ParseOptions = {}): string {
  const scan = scanDockerfile(text, opts.file ?? 'Dockerfile');
  if (scan.errors.length > 0) throw new BuildError([...scan.errors].sort(byPosition));
  return scan.instructions.map((i) => '(' + dumpNode(i.node) + ')\n').join('');
}
