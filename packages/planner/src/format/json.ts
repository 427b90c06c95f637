import type { Diagnostic } from '@tbuild/errors';
import type { Plan } from '../types.ts';
import type { PlanFormatOptions } from './text.ts';

/** JSON form of a diagnostic: the file by path only (the text is the user's, not the plan's). */
function diagnosticJson(d: Diagnostic): Record<string, unknown> {
  return {
    code: d.code,
    severity: d.severity,
    message: d.message,
    ...(d.hint ? { hint: d.hint } : {}),
    ...(d.location ? { file: d.location.file.path, range: d.location.range } : {}),
  };
}

/** The plan as JSON (stable: the plan is built in a deterministic order). */
export function formatPlanJson(plan: Plan, opts: PlanFormatOptions = {}): string {
  const cached = opts.cached;
  const steps = cached ? plan.steps.map((s) => (s.kind === 'config' ? s : { ...s, cached: cached.has(s.id) })) : plan.steps;
  return `${JSON.stringify({ ...plan, steps, warnings: plan.warnings.map(diagnosticJson) }, null, 2)}\n`;
}
