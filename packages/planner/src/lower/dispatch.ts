import { planError } from '../diagnostics.ts';
import { workdirOp } from '../cache-key.ts';
import { isProcPath } from '../lint.ts';
import { resolveWorkdir } from '../paths.ts';
import type { WorkdirSpec } from '../types.ts';
import {
  containerConfig,
  emitConfig,
  lowerArg,
  lowerCmd,
  lowerEntrypoint,
  lowerEnv,
  lowerExpose,
  lowerHealthcheck,
  lowerLabel,
  lowerStopsignal,
  lowerVolume,
} from './config.ts';
import { addHistory, emitStep } from './context.ts';
import type { Command, LowerContext, StageState } from './context.ts';
import { lowerCopy } from './copy.ts';
import { goList } from '../history-text.ts';
import { lowerRun } from './run.ts';

/** Lowers one instruction of a stage into zero or one step; throws BuildError for user mistakes. */
export async function lowerCommand(ctx: LowerContext, st: StageState, cmd: Command): Promise<void> {
  const ins = cmd.ins;
  switch (ins.keyword) {
    case 'RUN':
      return lowerRun(ctx, st, cmd, ins);
    case 'COPY':
    case 'ADD':
      return lowerCopy(ctx, st, cmd, ins);
    case 'WORKDIR': {
      const cfg = containerConfig(st.config);
      const written = ctx.expander.word(ins.path.value, st.env, cmd.at(ins.path.range));
      const wd = resolveWorkdir(cfg.WorkingDir || '/', written);
      if (isProcPath(wd)) {
        throw planError('TB_PLAN_PROC_PATH', `WORKDIR ${wd} is inside /proc`, ctx.diags.file, cmd.at(ins.path.range), 'the runtime owns /proc; a working directory there can reach host files (CVE-2024-21626)');
      }
      // BuildKit keeps an absolute path as written (`/app/` stays `/app/` in the config and
      // history) and cleans only a relative one joined to the current; the step works on the clean path.
      const shown = written.startsWith('/') ? written : wd;
      cfg.WorkingDir = shown;
      // The directory is created owned by the current USER, so USER is part of the step.
      const spec: WorkdirSpec = { kind: 'workdir', path: wd, user: cfg.User ?? '', mkdir: wd !== '/' };
      const h = addHistory(st, `WORKDIR ${shown}`, !spec.mkdir);
      emitStep(ctx, st, cmd, 'workdir', spec, workdirOp(spec), h);
      return;
    }
    case 'ENV':
      return lowerEnv(ctx, st, cmd, ins);
    case 'LABEL':
      return lowerLabel(ctx, st, cmd, ins);
    case 'ARG':
      return lowerArg(ctx, st, cmd, ins);
    case 'CMD':
      return lowerCmd(ctx, st, cmd, ins);
    case 'ENTRYPOINT':
      return lowerEntrypoint(ctx, st, cmd, ins);
    case 'HEALTHCHECK':
      return lowerHealthcheck(ctx, st, cmd, ins);
    case 'EXPOSE':
      return lowerExpose(ctx, st, cmd, ins);
    case 'VOLUME':
      return lowerVolume(ctx, st, cmd, ins);
    case 'STOPSIGNAL':
      return lowerStopsignal(ctx, st, cmd, ins);
    case 'USER': {
      const user = ctx.expander.word(ins.user.value, st.env, cmd.at(ins.user.range));
      containerConfig(st.config).User = user;
      return emitConfig(ctx, st, cmd, `USER ${user}`);
    }
    case 'SHELL':
      if (ins.args.length === 0) throw planError('TB_PLAN_EMPTY_SHELL', 'SHELL requires at least one argument', ctx.diags.file, cmd.location);
      containerConfig(st.config).Shell = [...ins.args];
      return emitConfig(ctx, st, cmd, `SHELL ${goList(ins.args)}`);
    case 'MAINTAINER':
      st.config.author = ins.name.value;
      return emitConfig(ctx, st, cmd, `MAINTAINER ${ins.name.value}`);
    case 'ONBUILD': {
      // Recorded for images built FROM this one; BuildKit adds no history entry for it.
      const cfg = containerConfig(st.config);
      cfg.OnBuild = [...(cfg.OnBuild ?? []), ins.expression];
      return emitConfig(ctx, st, cmd, undefined);
    }
    case 'FROM':
      throw new Error('FROM is not a stage command');
  }
}
