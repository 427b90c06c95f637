import type { SourceFile, SourceRange } from './source.ts';

export type Severity = 'error' | 'warning';

/** A location inside a user's file, carried by errors and warnings. */
export interface ErrorLocation {
  file: SourceFile;
  range: SourceRange;
}

export interface DiagnosticInit {
  /** Stable code, prefixed by phase: TB_PARSE_*, TB_PLAN_*, TB_EXEC_*, TB_CACHE_*, TB_REGISTRY_*, TB_CLI_*. */
  code: string;
  message: string;
  location?: ErrorLocation;
  hint?: string;
  severity?: Severity;
  /** Extra lines shown after the excerpt (for example the tail of a failing RUN's output). */
  details?: string[];
}

/** One problem found in user input; parse, validate and plan collect many of these. */
export interface Diagnostic extends DiagnosticInit {
  severity: Severity;
}

export function diagnostic(init: DiagnosticInit): Diagnostic {
  return { ...init, severity: init.severity ?? 'error' };
}

/**
 * The one error type users see. It carries one or more diagnostics; the CLI renders them
 * (code, file:line:col, the source line with a marker, a hint) and never a stack trace.
 * Anything thrown that is not a BuildError is a tbuild bug.
 */
export class BuildError extends Error {
  readonly code: string;
  readonly diagnostics: Diagnostic[];

  constructor(init: DiagnosticInit | Diagnostic[], options?: { cause?: unknown }) {
    const diags = Array.isArray(init) ? init : [diagnostic(init)];
    if (diags.length === 0) throw new Error('BuildError needs at least one diagnostic');
    const first = diags[0]!;
    super(first.message, options);
    this.name = 'BuildError';
    this.code = first.code;
    this.diagnostics = diags;
  }

  get hint(): string | undefined {
    return this.diagnostics[0]?.hint;
  }

  get location(): ErrorLocation | undefined {
    return this.diagnostics[0]?.location;
  }
}

export function isBuildError(e: unknown): e is BuildError {
  return e instanceof BuildError;
}
