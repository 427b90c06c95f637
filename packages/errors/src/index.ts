export type { SourcePosition, SourceRange, SourceFile } from './source.ts';
export type { Severity, ErrorLocation, DiagnosticInit, Diagnostic } from './build-error.ts';
export { BuildError, diagnostic, isBuildError } from './build-error.ts';
export { renderDiagnostic, renderError } from './render.ts';
export type { RenderOptions } from './render.ts';
export { editDistance, suggest } from './suggest.ts';
