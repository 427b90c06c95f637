import type { Plan, PlannedStage, Step } from '../types.ts';
import { formatPlatform } from '../platform.ts';

export function shortKey(key: string): string {
  return key.replace(/^sha256:/, '').slice(0, 12);
}

function stageLabel(s: PlannedStage): string {
  return s.name ? `${s.index} (${s.name})` : String(s.index);
}

function baseText(s: PlannedStage, plan: Plan): string {
  switch (s.base.kind) {
    case 'image':
      return `image ${s.base.ref}@${s.base.digest}`;
    case 'scratch':
      return 'scratch';
    case 'stage': {
      const b = s.base.stage;
      const name = plan.stages.find((x) => x.index === b)?.name;
      return `stage ${name ? `${b} (${name})` : b}`;
    }
  }
}

function oneLine(text: string): string {
  const first = text.split('\n', 1)[0] ?? '';
  return first.length < text.length ? `${first} ...` : first;
}

/** What a renderer knows beyond the plan itself: which steps the store would serve. */
export interface PlanFormatOptions {
  /** Step ids that are cache hits right now; absent = unknown (no store consulted). */
  cached?: ReadonlySet<string>;
}

function stepLine(step: Step, opts: PlanFormatOptions): string {
  const deps = step.deps.length ? `  <- ${step.deps.map((d) => d.step ?? `stage ${d.stage}`).join(', ')}` : '';
  const hit = opts.cached && step.kind !== 'config' ? (opts.cached.has(step.id) ? '  [cached]' : '  [will run]') : '';
  const flags = (step.noCache ? '  [no-cache]' : '') + hit;
  return `  ${step.id.padEnd(6)} ${step.kind.padEnd(7)} ${shortKey(step.cacheKey)}  ${oneLine(step.text)}${deps}${flags}`;
}

/** Human-readable plan: one block per stage, one line per step (id, kind, short key, instruction). */
export function formatPlanText(plan: Plan, opts: PlanFormatOptions = {}): string {
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  const out: string[] = [];
  for (const s of plan.stages) {
    const mark = s.index === plan.target ? '  [target]' : '';
    out.push(`stage ${stageLabel(s)} ${formatPlatform(s.platform)} from ${baseText(s, plan)}${mark}`);
    for (const id of s.steps) out.push(stepLine(byId.get(id)!, opts));
    out.push(`  => ${shortKey(s.finalKey)}`);
  }
  for (const w of plan.warnings) {
    const at = w.location ? `${w.location.file.path}:${w.location.range.start.line}: ` : '';
    out.push(`warning ${w.code}: ${at}${w.message}`);
  }
  return `${out.join('\n')}\n`;
}
