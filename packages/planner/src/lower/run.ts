import type { RunInstruction } from '@tbuild/parser';
import type { SourceRange } from '@tbuild/errors';
import { isProxyArg } from '../args.ts';
import { runOp } from '../cache-key.ts';
import { planError } from '../diagnostics.ts';
import type { InlineFile, RunSpec } from '../types.ts';
import { addHistory, emitStep } from './context.ts';
import type { Command, LowerContext, StageState } from './context.ts';
import { withShell } from './config.ts';
import { lowerMounts } from './mounts.ts';

const WHOLE_HEREDOC = /^\s*\d*<<-?\s*["']?[^<\s"']*["']?\s*$/;

/** argv and inline files of a RUN, with BuildKit's heredoc rules (no builder-side expansion). */
function runArgs(st: StageState, ins: RunInstruction): { args: string[]; files: InlineFile[]; form: 'shell' | 'exec' } {
  const c = ins.command;
  if (c.form === 'exec') return { args: [...c.args], files: [], form: 'exec' };
  const [only] = ins.heredocs;
  if (only && ins.heredocs.length === 1 && WHOLE_HEREDOC.test(c.text)) {
    if (st.config.os !== 'windows' && only.content.startsWith('#!')) {
      // A script with its own interpreter: mount it executable and run it.
      const path = `/dev/pipes/${only.name}`;
      return { args: withShell(st.config, path), files: [{ path, content: only.content, mode: 0o755 }], form: 'shell' };
    }
    return { args: withShell(st.config, only.content), files: [], form: 'shell' };
  }
  // Anything else: hand the shell the line plus the bodies and terminators, as written.
  let text = c.text;
  for (const h of ins.heredocs) text += `\n${h.content}${h.name}`;
  return { args: withShell(st.config, text), files: [], form: 'shell' };
}

/** BuildKit's history text: `|N K=V ...` for declared ARGs, then the argv. */
function runHistory(st: StageState, args: string[]): string {
  const order: string[] = [];
  const values = new Map<string, string>();
  for (const a of st.args) {
    if (!values.has(a.name)) order.push(a.name);
    values.set(a.name, st.env.get(a.name) ?? a.value ?? '');
  }
  const prefix = order.length ? [`|${order.length}`, ...order.map((n) => `${n}=${values.get(n)!}`)] : [];
  return `RUN ${[...prefix, ...args].join(' ')} # buildkit`;
}

export async function lowerRun(ctx: LowerContext, st: StageState, cmd: Command, ins: RunInstruction): Promise<void> {
  const { args, files, form } = runArgs(st, ins);
  const network = ins.network?.value ?? 'default';
  if (network !== 'default' && network !== 'none' && network !== 'host') {
    throw planError('TB_PLAN_INVALID_FLAG', `unsupported network mode "${network}"`, ctx.diags.file, cmd.at(ins.network!.range), 'use default, none or host');
  }
  const security = ins.security?.value ?? 'sandbox';
  if (security !== 'sandbox' && security !== 'insecure') {
    throw planError('TB_PLAN_INVALID_FLAG', `unsupported security mode "${security}"`, ctx.diags.file, cmd.at(ins.security!.range), 'use sandbox or insecure');
  }
  // A Dockerfile cannot leave the sandbox on its own: whoever runs the build grants it (BuildKit's entitlements).
  const needs = (entitlement: string, flag: string, range: SourceRange, what: string): void => {
    if (ctx.input.entitlements?.includes(entitlement)) return;
    throw planError('TB_PLAN_ENTITLEMENT', `RUN ${flag} needs the ${entitlement} entitlement`, ctx.diags.file, cmd.at(range), `build with --allow ${entitlement} to grant it (${what})`);
  };
  if (network === 'host') needs('network.host', '--network=host', ins.network!.range, "the step then shares the host's network, its loopback services included");
  if (security === 'insecure') needs('security.insecure', '--security=insecure', ins.security!.range, 'the step then runs with every capability and no seccomp filter');
  const mounts = await lowerMounts(ctx, st, cmd, ins.mounts);
  const env = st.env.toList();
  // Proxies reach the process without a declaration; declared ones are already in env.
  const proxyEnv = Object.keys(ctx.input.buildArgs)
    .filter((k) => isProxyArg(k) && !st.env.has(k))
    .sort()
    .map((k) => `${k}=${ctx.input.buildArgs[k]!}`);
  const cfg = st.config.config ?? {};
  const spec: RunSpec = {
    kind: 'run',
    args,
    form,
    env,
    proxyEnv,
    user: cfg.User ?? '',
    workdir: cfg.WorkingDir || '/',
    network,
    security,
    mounts: mounts.mounts,
    files,
    ...(ctx.input.extraHosts?.length ? { extraHosts: ctx.input.extraHosts } : {}),
  };
  const h = addHistory(st, runHistory(st, args), false);
  emitStep(ctx, st, cmd, 'run', spec, runOp(spec, mounts.keyed), h, mounts.deps);
}
