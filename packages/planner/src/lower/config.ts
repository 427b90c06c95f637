import type {
  ArgInstruction,
  CmdInstruction,
  CommandLine,
  EntrypointInstruction,
  EnvInstruction,
  ExposeInstruction,
  HealthcheckInstruction,
  LabelInstruction,
  StopsignalInstruction,
  VolumeInstruction,
} from '@tbuild/parser';
import { EnvList } from '../args.ts';
import { configOp } from '../cache-key.ts';
import { planError } from '../diagnostics.ts';
import { goDuration, goList, goQuotedList } from '../history-text.ts';
import { isProcPath, warnSecretName } from '../lint.ts';
import { cleanPath } from '../paths.ts';
import type { ContainerConfig, HealthcheckConfig, ImageConfig } from '../types.ts';
import { addHistory, emitStep } from './context.ts';
import type { Command, LowerContext, StageState } from './context.ts';

/**
 * Emits a config-only step; `history` undefined = no history entry (ONBUILD). `keyHistory`
 * replaces the history text in the key when the real one carries values the step itself does
 * not depend on (ARG).
 */
export function emitConfig(ctx: LowerContext, st: StageState, cmd: Command, history: string | undefined, keyHistory?: string): void {
  const h = history === undefined ? undefined : addHistory(st, history, true);
  const hk = h && keyHistory !== undefined ? { ...h, created_by: keyHistory } : h;
  const op = configOp(cmd.ins.keyword, st.config.config ?? {}, st.config.author, hk);
  emitStep(ctx, st, cmd, 'config', { kind: 'config', instruction: cmd.ins.keyword }, op, h);
}

export function containerConfig(img: ImageConfig): ContainerConfig {
  return (img.config ??= {});
}

/** The argv a shell-form command gets: the stage's SHELL (default `/bin/sh -c`) plus the text. */
export function withShell(img: ImageConfig, text: string): string[] {
  const shell = img.config?.Shell?.length ? img.config.Shell : img.os === 'windows' ? ['cmd', '/S', '/C'] : ['/bin/sh', '-c'];
  return [...shell, text];
}

export function commandArgs(img: ImageConfig, c: CommandLine): string[] {
  return c.form === 'exec' ? [...c.args] : withShell(img, c.text);
}

export function lowerEnv(ctx: LowerContext, st: StageState, cmd: Command, ins: EnvInstruction): void {
  // Every substitution in one ENV sees the values from before it (BuildKit expands the whole command first).
  const before = st.env.clone();
  const pairs = ins.pairs.map((p) => [ctx.expander.word(p.key.value, before, cmd.at(p.key.range)), ctx.expander.word(p.value.value, before, cmd.at(p.value.range))] as const);
  const cfg = containerConfig(st.config);
  const imageEnv = EnvList.fromList(cfg.Env);
  ins.pairs.forEach((p, i) => warnSecretName(ctx.diags, 'ENV', pairs[i]![0], cmd.at(p.key.range)));
  for (const [k, v] of pairs) {
    if (k === '') throw planError('TB_PLAN_EMPTY_KEY', 'ENV names can not be blank', ctx.diags.file, cmd.location);
    st.env.set(k, v);
    imageEnv.set(k, v);
  }
  cfg.Env = imageEnv.toList();
  emitConfig(ctx, st, cmd, `ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
}

export function lowerLabel(ctx: LowerContext, st: StageState, cmd: Command, ins: LabelInstruction): void {
  const env = st.env;
  const pairs = ins.pairs.map((p) => [ctx.expander.word(p.key.value, env, cmd.at(p.key.range)), ctx.expander.word(p.value.value, env, cmd.at(p.value.range))] as const);
  const cfg = containerConfig(st.config);
  const labels = { ...(cfg.Labels ?? {}) };
  for (const [k, v] of pairs) {
    if (k === '') throw planError('TB_PLAN_EMPTY_KEY', 'LABEL names can not be blank', ctx.diags.file, cmd.location);
    labels[k] = v;
  }
  cfg.Labels = labels;
  emitConfig(ctx, st, cmd, `LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
}

/** ARG inside a stage: build arg > expanded default > global value; joins the build env, never the image Env. */
export function lowerArg(ctx: LowerContext, st: StageState, cmd: Command, ins: ArgInstruction): void {
  const parts: string[] = [];
  for (const decl of ins.args) {
    const name = decl.name.value;
    ctx.consumedArgs.add(name);
    warnSecretName(ctx.diags, 'ARG', name, cmd.at(decl.name.range));
    let value: string | undefined;
    if (Object.hasOwn(ctx.input.buildArgs, name)) value = ctx.input.buildArgs[name];
    else if (decl.defaultValue) value = ctx.expander.word(decl.defaultValue.value, st.env, cmd.at(decl.defaultValue.range));
    else value = ctx.globalArgs.get(name);
    if (value !== undefined) st.env.set(name, value);
    st.args.push({ name, value });
    parts.push(value === undefined ? name : `${name}=${value}`);
  }
  // The value reaches later steps through what they expand and RUN's env, which are in their
  // own keys; keying ARG on the declaration keeps a changed value from invalidating a COPY or
  // WORKDIR that never reads it (BuildKit's behaviour).
  const declared = ins.args.map((d) => (d.defaultValue ? `${d.name.value}=${d.defaultValue.value}` : d.name.value));
  emitConfig(ctx, st, cmd, `ARG ${parts.join(' ')}`, `ARG ${declared.join(' ')}`);
}

export function lowerCmd(ctx: LowerContext, st: StageState, cmd: Command, ins: CmdInstruction): void {
  const args = commandArgs(st.config, ins.command);
  const cfg = containerConfig(st.config);
  cfg.Cmd = args;
  cfg.ArgsEscaped = true;
  st.cmdSet = true;
  emitConfig(ctx, st, cmd, `CMD ${goQuotedList(args)}`);
}

export function lowerEntrypoint(ctx: LowerContext, st: StageState, cmd: Command, ins: EntrypointInstruction): void {
  const args = commandArgs(st.config, ins.command);
  const cfg = containerConfig(st.config);
  if (args.length === 0) delete cfg.Entrypoint;
  else cfg.Entrypoint = args;
  // An inherited CMD was written for the old ENTRYPOINT; only a CMD of this stage survives.
  if (!st.cmdSet) delete cfg.Cmd;
  emitConfig(ctx, st, cmd, `ENTRYPOINT ${goQuotedList(args)}`);
}

export function lowerHealthcheck(ctx: LowerContext, st: StageState, cmd: Command, ins: HealthcheckInstruction): void {
  const hc: HealthcheckConfig = {};
  if (ins.kind === 'none') hc.Test = ['NONE'];
  else if (ins.command) hc.Test = ins.command.form === 'exec' ? ['CMD', ...ins.command.args] : ['CMD-SHELL', ins.command.text];
  // Zero/absent durations mean "the runtime default" (30s interval, 30s timeout, 3 retries); like
  // BuildKit we store only what was written, so the defaults stay the runtime's choice.
  if (ins.interval) hc.Interval = ins.interval;
  if (ins.timeout) hc.Timeout = ins.timeout;
  if (ins.startPeriod) hc.StartPeriod = ins.startPeriod;
  if (ins.startInterval) hc.StartInterval = ins.startInterval;
  if (ins.retries) hc.Retries = ins.retries;
  containerConfig(st.config).Healthcheck = hc;
  const text =
    `{Test:${goList(hc.Test ?? [])} Interval:${goDuration(hc.Interval ?? 0)} Timeout:${goDuration(hc.Timeout ?? 0)} ` +
    `StartPeriod:${goDuration(hc.StartPeriod ?? 0)} StartInterval:${goDuration(hc.StartInterval ?? 0)} Retries:${hc.Retries ?? 0}}`;
  emitConfig(ctx, st, cmd, `HEALTHCHECK ${text}`);
}

const PORT = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/([A-Za-z]+))?$/;

export function lowerExpose(ctx: LowerContext, st: StageState, cmd: Command, ins: ExposeInstruction): void {
  const specs: string[] = [];
  for (const w of ins.ports) {
    for (const p of ctx.expander.words(w.value, st.env, cmd.at(w.range))) {
      const m = PORT.exec(p);
      const lo = m ? Number(m[1]) : NaN;
      const hi = m?.[2] ? Number(m[2]) : lo;
      if (!m || lo < 1 || hi > 65535 || hi < lo) {
        throw planError('TB_PLAN_INVALID_PORT', `invalid port "${p}" in EXPOSE`, ctx.diags.file, cmd.at(w.range), 'use <port>[/<protocol>] or <from>-<to>[/<protocol>]');
      }
      const proto = (m[3] ?? 'tcp').toLowerCase();
      for (let n = lo; n <= hi; n++) specs.push(`${n}/${proto}`);
    }
  }
  const cfg = containerConfig(st.config);
  const ports = { ...(cfg.ExposedPorts ?? {}) };
  for (const s of specs) ports[s] = {};
  cfg.ExposedPorts = ports;
  // Each port once in the history text, as BuildKit writes it.
  emitConfig(ctx, st, cmd, `EXPOSE ${goList([...new Set(specs)])}`);
}

export function lowerVolume(ctx: LowerContext, st: StageState, cmd: Command, ins: VolumeInstruction): void {
  const paths = ins.paths.map((w) => {
    const p = ctx.expander.word(w.value, st.env, cmd.at(w.range));
    if (p === '') throw planError('TB_PLAN_EMPTY_VOLUME', 'VOLUME specified can not be an empty string', ctx.diags.file, cmd.at(w.range));
    if (isProcPath(cleanPath(p.startsWith('/') ? p : `/${p}`))) {
      throw planError('TB_PLAN_PROC_PATH', `VOLUME ${p} is inside /proc`, ctx.diags.file, cmd.at(w.range), 'the runtime owns /proc; choose another path');
    }
    return p;
  });
  const cfg = containerConfig(st.config);
  const vols = { ...(cfg.Volumes ?? {}) };
  for (const p of paths) vols[p] = {};
  cfg.Volumes = vols;
  emitConfig(ctx, st, cmd, `VOLUME ${goList(paths)}`);
}

const SIGNALS = new Set(
  'ABRT ALRM BUS CHLD CLD CONT FPE HUP ILL INT IO IOT KILL PIPE POLL PROF PWR QUIT SEGV STKFLT STOP SYS TERM TRAP TSTP TTIN TTOU URG USR1 USR2 VTALRM WINCH XCPU XFSZ'.split(' '),
);

function validSignal(s: string): boolean {
  if (/^\d+$/.test(s)) return Number(s) >= 1 && Number(s) <= 64;
  const name = s.toUpperCase().replace(/^SIG/, '');
  if (SIGNALS.has(name)) return true;
  const rt = /^RTM(IN|AX)(?:([+-])(\d+))?$/.exec(name);
  return rt !== null && (rt[3] === undefined || Number(rt[3]) <= 30);
}

export function lowerStopsignal(ctx: LowerContext, st: StageState, cmd: Command, ins: StopsignalInstruction): void {
  const sig = ctx.expander.word(ins.signal.value, st.env, cmd.at(ins.signal.range));
  if (!validSignal(sig)) throw planError('TB_PLAN_INVALID_SIGNAL', `invalid signal: ${sig}`, ctx.diags.file, cmd.at(ins.signal.range), 'use a name like SIGTERM or a number');
  containerConfig(st.config).StopSignal = sig;
  emitConfig(ctx, st, cmd, `STOPSIGNAL ${sig}`);
}
