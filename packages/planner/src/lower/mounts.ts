import type { Flag, MountSpec } from '@tbuild/parser';
import { parseMount } from '@tbuild/parser';
import type { KeyedSource } from '../cache-key.ts';
import { planError } from '../diagnostics.ts';
import { baseName, cleanPath, resolveWorkdir } from '../paths.ts';
import { formatPlatform } from '../platform.ts';
import type { ContextSelection, RunMount, SourceRef, StepDep } from '../types.ts';
import { contextHasher, depOn } from './context.ts';
import type { Command, LowerContext, StageState } from './context.ts';

/** Splits a `--mount` CSV value into fields; `"..."` quotes a field (`""` is a quote), as Go's csv reader does. */
export function splitCsv(value: string): string[] {
  const fields: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (quoted) {
      if (c === '"' && value[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"' && cur === '') quoted = true;
    else if (c === ',') {
      fields.push(cur);
      cur = '';
    } else cur += c;
  }
  fields.push(cur);
  return fields;
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The raw `from=` of a mount value: never expanded, so it can be read before planning the stage. */
export function mountFrom(value: string): string | undefined {
  for (const f of splitCsv(value)) {
    const i = f.indexOf('=');
    if (i > 0 && f.slice(0, i).trim().toLowerCase() === 'from') return f.slice(i + 1);
  }
  return undefined;
}

export interface LoweredMounts {
  mounts: RunMount[];
  keyed: Array<KeyedSource | undefined>;
  deps: StepDep[];
}

/** Expands every option value except `from`, parses, applies BuildKit's per-type defaults and resolves sources. */
export async function lowerMounts(ctx: LowerContext, st: StageState, cmd: Command, flags: Flag[]): Promise<LoweredMounts> {
  const out: LoweredMounts = { mounts: [], keyed: [], deps: [] };
  let sshCount = 0;
  const workdir = st.config.config?.WorkingDir || '/';
  for (const flag of flags) {
    const range = cmd.at(flag.range);
    const fields = splitCsv(flag.value ?? '').map((f) => {
      const i = f.indexOf('=');
      if (i < 0) return f;
      const key = f.slice(0, i);
      const val = f.slice(i + 1);
      if (key.trim().toLowerCase() === 'from') {
        if (val.includes('$')) throw planError('TB_PLAN_FROM_VARIABLE', "mount from doesn't support variable expansion, define alias stage instead", ctx.diags.file, range);
        return f;
      }
      return `${key}=${csvField(ctx.expander.word(val, st.env, range))}`;
    });
    const spec: MountSpec = parseMount(fields.join(','), { file: ctx.diags.file, range });
    const target = spec.target === undefined ? undefined : resolveWorkdir(workdir, spec.target);
    if (target === '/') throw planError('TB_PLAN_MOUNT_TARGET', 'mount target cannot be /', ctx.diags.file, range);
    const need = (): string => {
      if (target === undefined) throw planError('TB_PLAN_MOUNT_TARGET', `${spec.type} mount needs a target`, ctx.diags.file, range);
      return target;
    };
    let from: SourceRef | undefined;
    let keyed: KeyedSource | undefined;
    const source = cleanPath(`/${spec.source ?? ''}`);
    // A context (the main one, or a named one) is content-addressed like a COPY of the same path.
    const readOfContext = async (name?: string): Promise<{ from: SourceRef; keyed: KeyedSource }> => {
      const digest = await contextHasher(ctx, name).digest(mountSourceSelection(source));
      return { from: name === undefined ? { kind: 'context' } : { kind: 'context', name }, keyed: { kind: 'context', digest } };
    };
    if (spec.from !== undefined) {
      const ref = ctx.stageRef(spec.from, st.index, range);
      if (ref.kind === 'named') {
        ({ from, keyed } = await readOfContext(ref.name));
      } else if (ref.kind === 'stage') {
        from = { kind: 'stage', stage: ref.stage };
        keyed = { kind: 'stage', key: ctx.finished.get(ref.stage)!.finalKey };
        out.deps.push(depOn(ctx, ref.stage));
      } else {
        const img = await ctx.resolveImage(ref.ref, st.platform, range);
        from = { kind: 'image', ref: img.ref, digest: img.digest };
        keyed = { kind: 'image', digest: img.digest, platform: formatPlatform(st.platform) };
      }
    }
    let m: RunMount;
    switch (spec.type) {
      case 'bind':
        if (!from) ({ from, keyed } = await readOfContext());
        m = { type: 'bind', target: need(), source, readonly: spec.readonly, from };
        break;
      case 'cache': {
        const t = need();
        m = {
          type: 'cache',
          target: t,
          id: spec.id ?? t,
          sharing: spec.sharing ?? 'shared',
          readonly: spec.readonly,
          mode: spec.mode ?? 0o755,
          uid: spec.uid ?? 0,
          gid: spec.gid ?? 0,
          ...(from ? { from, source } : {}),
        };
        break;
      }
      case 'tmpfs':
        m = { type: 'tmpfs', target: need(), ...(spec.size !== undefined ? { size: spec.size } : {}) };
        break;
      case 'secret': {
        const id = spec.id ?? (target !== undefined ? baseName(target) : undefined);
        if (!id) throw planError('TB_PLAN_MOUNT_SECRET', 'secret mount needs an id or a target', ctx.diags.file, range);
        const required = spec.required ?? false;
        if (required && ctx.input.secrets && !ctx.input.secrets.includes(id)) {
          throw planError('TB_PLAN_SECRET_MISSING', `secret "${id}" is required but was not provided`, ctx.diags.file, range, `pass it with --secret id=${id},src=<file>`);
        }
        m = {
          type: 'secret',
          id,
          ...(target !== undefined || spec.env === undefined ? { target: target ?? `/run/secrets/${id}` } : {}),
          ...(spec.env !== undefined ? { env: spec.env } : {}),
          required,
          mode: spec.mode ?? 0o400,
          uid: spec.uid ?? 0,
          gid: spec.gid ?? 0,
        };
        break;
      }
      case 'ssh':
        m = {
          type: 'ssh',
          id: spec.id ?? 'default',
          target: target ?? `/run/buildkit/ssh_agent.${sshCount}`,
          required: spec.required ?? false,
          mode: spec.mode ?? 0o600,
          uid: spec.uid ?? 0,
          gid: spec.gid ?? 0,
        };
        sshCount++;
        break;
    }
    out.mounts.push(m);
    out.keyed.push(keyed);
  }
  return out;
}

/** What a mount reading `source` (absolute, clean) selects of a context. */
export function mountSourceSelection(source: string): ContextSelection {
  return { sources: [source === '/' ? '.' : source.slice(1)], excludes: [], parents: false };
}
