import type { Diagnostic } from './build-error.ts';
import { BuildError } from './build-error.ts';

export interface RenderOptions {
  /** Lines of context shown before and after the failing lines. */
  context?: number;
}

// Untrusted text (Dockerfile lines, output of RUN) must not drive the user's terminal.
function sanitize(s: string): string {
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f\u009b]/g, (c) => (c === '\t' ? '\t' : '?'));
}

/**
 * Renders one diagnostic the way a user sees it:
 *
 *   Dockerfile:3:1: error TB_PARSE_UNKNOWN_INSTRUCTION: unknown instruction: RUNN
 *      2 | FROM busybox
 *   >>>3 | RUNN echo hi
 *        | ^~~~
 *   hint: did you mean RUN?
 */
export function renderDiagnostic(d: Diagnostic, opts: RenderOptions = {}): string {
  const out: string[] = [];
  const loc = d.location;
  const where = loc ? `${loc.file.path}:${loc.range.start.line}:${loc.range.start.column}: ` : '';
  out.push(`${where}${d.severity} ${d.code}: ${sanitize(d.message)}`);
  if (loc) {
    const lines = loc.file.text.split(/\r?\n/);
    const ctx = opts.context ?? 1;
    const first = loc.range.start.line;
    const last = Math.max(first, loc.range.end.line - (loc.range.end.column === 1 && loc.range.end.line > first ? 1 : 0));
    const from = Math.max(1, first - ctx);
    const to = Math.min(lines.length, last + ctx);
    const width = String(to).length;
    for (let n = from; n <= to; n++) {
      const text = sanitize(lines[n - 1] ?? '');
      const inside = n >= first && n <= last;
      out.push(`${inside ? '>>>' : '   '}${String(n).padStart(width)} | ${text}`);
      if (n === first) {
        const startCol = loc.range.start.column;
        const endCol = loc.range.end.line === first ? Math.max(loc.range.end.column, startCol + 1) : text.length + 1;
        const pad = text.slice(0, startCol - 1).replace(/[^\t]/g, ' ');
        out.push(`   ${' '.repeat(width)} | ${pad}^${'~'.repeat(Math.max(0, endCol - startCol - 1))}`);
      }
    }
  }
  for (const line of d.details ?? []) out.push(`  ${sanitize(line)}`);
  if (d.hint) out.push(`hint: ${sanitize(d.hint)}`);
  return out.join('\n');
}

export function renderError(e: BuildError, opts?: RenderOptions): string {
  return e.diagnostics.map((d) => renderDiagnostic(d, opts)).join('\n\n');
}
