import { formatPlatform } from '../platform.ts';
import type { Plan, PlannedStage } from '../types.ts';
import { shortKey, type PlanFormatOptions } from './text.ts';

/** A DOT double-quoted string: Dockerfile text is untrusted, so quotes, backslashes and newlines are escaped. */
function q(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`;
}

function clip(s: string, n = 60): string {
  const line = s.split('\n', 1)[0] ?? '';
  return line.length > n ? `${line.slice(0, n - 3)}...` : line;
}

function baseNode(s: PlannedStage): string {
  return `base_${s.index}`;
}

/** Graphviz: one cluster per stage, one node per step, solid edges for parents and dashed ones across stages. */
export function formatPlanDot(plan: Plan, opts: PlanFormatOptions = {}): string {
  const out: string[] = ['digraph plan {', '  rankdir=TB;', '  node [shape=box, fontname="monospace", fontsize=10];'];
  const byIndex = new Map(plan.stages.map((s) => [s.index, s]));
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  const last = (index: number): string => {
    const s = byIndex.get(index)!;
    const id = s.steps[s.steps.length - 1];
    return id ? q(id) : baseNode(s);
  };
  for (const s of plan.stages) {
    const title = `stage ${s.index}${s.name ? ` (${s.name})` : ''} ${formatPlatform(s.platform)}${s.index === plan.target ? ' [target]' : ''}`;
    out.push(`  subgraph cluster_${s.index} {`, `    label=${q(title)};`);
    const base = s.base.kind === 'image' ? s.base.ref : s.base.kind === 'scratch' ? 'scratch' : `stage ${s.base.stage}`;
    out.push(`    ${baseNode(s)} [label=${q(`FROM ${base}`)}, shape=ellipse];`);
    for (const id of s.steps) {
      const step = byId.get(id)!;
      // Cache hits are filled grey, so a picture of the build shows what will run.
      const fill = opts.cached?.has(id) ? ', style=filled, fillcolor="#dddddd"' : '';
      out.push(`    ${q(id)} [label=${q(`${id} ${clip(step.text)}\n${shortKey(step.cacheKey)}`)}${fill}];`);
    }
    out.push('  }');
  }
  for (const s of plan.stages) {
    if (s.base.kind === 'stage') out.push(`  ${last(s.base.stage)} -> ${baseNode(s)};`);
    let prev = baseNode(s);
    for (const id of s.steps) {
      out.push(`  ${prev} -> ${q(id)};`);
      prev = q(id);
      for (const d of byId.get(id)!.deps) out.push(`  ${last(d.stage)} -> ${q(id)} [style=dashed];`);
    }
  }
  out.push('}');
  return `${out.join('\n')}\n`;
}
