import type { ArgInstruction, Dockerfile, FromInstruction, Instruction } from '@tbuild/parser';
import type { Diagnostics } from './diagnostics.ts';

/** One `FROM` section of the Dockerfile, before anything is resolved. */
export interface StageDecl {
  /** Position among all stages of the file (what `--from=<n>` counts). */
  index: number;
  /** Lower-cased `AS` name. */
  name?: string;
  from: FromInstruction;
  instructions: Instruction[];
}

export interface SplitDockerfile {
  /** ARGs before the first FROM: visible only to FROM lines. */
  globalArgs: ArgInstruction[];
  stages: StageDecl[];
}

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

/** Splits the instruction list at each FROM and checks stage names (format, duplicates). */
export function splitStages(df: Dockerfile, diags: Diagnostics): SplitDockerfile {
  const globalArgs: ArgInstruction[] = [];
  const stages: StageDecl[] = [];
  const seen = new Map<string, StageDecl>();
  for (const ins of df.instructions) {
    if (ins.keyword === 'FROM') {
      const decl: StageDecl = { index: stages.length, from: ins, instructions: [] };
      if (ins.stageName) {
        const name = ins.stageName.value.toLowerCase();
        if (!STAGE_NAME.test(name)) {
          diags.error(
            'TB_PLAN_INVALID_STAGE_NAME',
            `invalid name for build stage: "${ins.stageName.value}", name can't start with a number or contain symbols`,
            ins.stageName.range,
          );
        } else if (seen.has(name)) {
          diags.error('TB_PLAN_DUPLICATE_STAGE', `duplicate stage name "${name}"`, ins.stageName.range, `the name is first used on line ${seen.get(name)!.from.range.start.line}`);
        } else {
          seen.set(name, decl);
        }
        decl.name = name;
      }
      stages.push(decl);
    } else if (stages.length === 0) {
      if (ins.keyword === 'ARG') globalArgs.push(ins);
      else diags.error('TB_PLAN_NO_STAGE', `${ins.keyword} instruction before the first FROM: no build stage in current context`, ins.keywordRange, 'only ARG may come before the first FROM');
    } else {
      stages[stages.length - 1]!.instructions.push(ins);
    }
  }
  if (stages.length === 0) diags.error('TB_PLAN_NO_STAGE', 'the Dockerfile has no FROM instruction', df.range);
  return { globalArgs, stages };
}
