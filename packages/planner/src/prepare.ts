import { BuildError, suggest } from '@tbuild/errors';
import type { SourceRange } from '@tbuild/errors';
import { parse } from '@tbuild/parser';
import type { Instruction } from '@tbuild/parser';
import type { EnvList } from './args.ts';
import { planError } from './diagnostics.ts';
import type { Diagnostics } from './diagnostics.ts';
import type { Expander } from './expand.ts';
import type { Command, StageRef } from './lower/context.ts';
import { mountFrom } from './lower/mounts.ts';
import { formatPlatform, parsePlatform } from './platform.ts';
import type { StageDecl } from './stages.ts';
import type { ImageResolver, PlanInput, Platform, ResolvedImage } from './types.ts';

/** A stage after its FROM was resolved: platform, base, and the commands it runs (ONBUILD triggers first). */
export interface PreparedStage {
  decl: StageDecl;
  /** `FROM --platform`; else a stage base's platform, else the target platform (decided when lowering). */
  platformFlag?: Platform;
  /** Platform the base image was resolved for. */
  platform: Platform;
  base: { kind: 'image'; image: ResolvedImage } | { kind: 'stage'; stage: number } | { kind: 'scratch' };
  commands: Command[];
  /** Stages this one reads (base, `COPY --from`, mount `from=`). */
  deps: Set<number>;
  /** Its base could not be resolved; keys of this stage are meaningless (the plan fails anyway). */
  failed: boolean;
}

type FromTarget = { kind: 'stage'; stage: number } | { kind: 'image'; ref: string } | { kind: 'scratch' };

/** Stage/image reference resolution shared by FROM, COPY --from and mount from=. */
export class StageRefs {
  constructor(
    private readonly decls: StageDecl[],
    private readonly diags: Diagnostics,
    private readonly named: NonNullable<PlanInput['namedContexts']> = {},
  ) {}

  decl(index: number): StageDecl {
    return this.decls[index]!;
  }

  names(): string[] {
    return this.decls.flatMap((d) => (d.name ? [d.name] : []));
  }

  /** `--from`/`from=` as seen from stage `from`: a name or index of an earlier stage, else an image. */
  ref(name: string, from: number, range: SourceRange): StageRef {
    const file = this.diags.file;
    const named = this.named[name.toLowerCase()];
    if (named) return named.kind === 'image' ? { kind: 'image', ref: named.ref } : { kind: 'named', name: name.toLowerCase() };
    let target: StageDecl | undefined;
    if (/^\d+$/.test(name)) {
      target = this.decls[Number(name)];
      if (!target) throw planError('TB_PLAN_STAGE_INDEX', `invalid stage index ${name}`, file, range, `this Dockerfile has ${this.decls.length} stage(s), numbered from 0`);
    } else {
      target = this.decls.find((d) => d.name === name.toLowerCase());
      if (!target) return { kind: 'image', ref: name };
    }
    if (target.index === from) throw planError('TB_PLAN_STAGE_CYCLE', `circular dependency detected on stage: ${name}`, file, range, 'a stage cannot read its own result');
    if (target.index > from) {
      throw planError('TB_PLAN_STAGE_ORDER', `stage "${name}" is used before it is defined`, file, range, `move stage "${name}" (line ${target.from.range.start.line}) above this one`);
    }
    return { kind: 'stage', stage: target.index };
  }

  /** FROM: an earlier stage by name, `scratch`, or an image. A later stage's name is an error, not an image. */
  fromTarget(name: string, decl: StageDecl, range: SourceRange): FromTarget {
    const lower = name.toLowerCase();
    const named = this.named[lower];
    if (named?.kind === 'image') return { kind: 'image', ref: named.ref };
    if (named) {
      throw planError('TB_PLAN_NAMED_CONTEXT', `build context "${name}" is a directory, not an image FROM can start from`, this.diags.file, range, `read it with COPY --from=${name} or RUN --mount=from=${name}; docker-image://REF names an image`);
    }
    const earlier = this.decls.filter((d) => d.index < decl.index && d.name === lower).pop();
    if (earlier) return { kind: 'stage', stage: earlier.index };
    const later = this.decls.find((d) => d.index > decl.index && d.name === lower);
    if (later) {
      throw planError('TB_PLAN_STAGE_ORDER', `stage "${name}" is used before it is defined`, this.diags.file, range, `move stage "${name}" (line ${later.from.range.start.line}) above this one`);
    }
    if (lower === 'scratch') return { kind: 'scratch' };
    return { kind: 'image', ref: name };
  }
}

/** Resolves images once per (ref, platform) and points failures at the Dockerfile. */
export class ImageCache {
  private readonly cache = new Map<string, Promise<ResolvedImage>>();

  constructor(
    private readonly resolver: ImageResolver,
    private readonly diags: Diagnostics,
    private readonly stageNames: () => string[],
  ) {}

  async resolve(ref: string, platform: Platform, range: SourceRange): Promise<ResolvedImage> {
    const key = `${ref}\u0000${formatPlatform(platform)}`;
    let p = this.cache.get(key);
    if (!p) {
      p = this.resolver.resolve(ref, platform);
      this.cache.set(key, p);
    }
    try {
      return await p;
    } catch (e) {
      if (!(e instanceof BuildError)) throw e;
      const stage = suggest(ref, this.stageNames());
      throw new BuildError(
        e.diagnostics.map((d) => ({
          ...d,
          location: d.location ?? { file: this.diags.file, range },
          hint: d.hint ?? (stage ? `did you mean the stage "${stage}"?` : undefined),
        })),
        { cause: e },
      );
    }
  }
}

export interface PrepareContext {
  input: PlanInput;
  diags: Diagnostics;
  expander: Expander;
  globalArgs: EnvList;
  refs: StageRefs;
  images: ImageCache;
}

/** Expands FROM (global args only), resolves the base and collects the stage's commands and dependencies. */
export async function prepareStage(ctx: PrepareContext, decl: StageDecl): Promise<PreparedStage> {
  const from = decl.from;
  const file = ctx.diags.file;
  const p: PreparedStage = { decl, platform: ctx.input.platform, base: { kind: 'scratch' }, commands: [], deps: new Set(), failed: false };
  const ok = await ctx.diags.capture(from.range, async () => {
    const { value: name, unmatched } = ctx.expander.withMatches(from.image.value, ctx.globalArgs, from.image.range);
    for (const u of [...unmatched].sort()) {
      ctx.diags.warn('TB_PLAN_UNDEFINED_ARG_IN_FROM', `FROM argument '${u}' is not declared`, from.image.range, 'declare it with ARG before the first FROM');
    }
    if (name === '') throw planError('TB_PLAN_BLANK_BASE', `base name (${from.image.value}) should not be blank`, file, from.image.range);
    let platform: Platform | undefined;
    if (from.platform) {
      const text = ctx.expander.word(from.platform.value ?? '', ctx.globalArgs, from.platform.range);
      platform = parsePlatform(text);
      if (!platform) throw planError('TB_PLAN_INVALID_PLATFORM', `invalid platform "${text}"`, file, from.platform.range, 'use os/arch[/variant], e.g. linux/arm64');
    }
    if (platform) p.platformFlag = p.platform = platform;
    const target = ctx.refs.fromTarget(name, decl, from.image.range);
    if (target.kind === 'stage') {
      p.base = { kind: 'stage', stage: target.stage };
      p.deps.add(target.stage);
    } else if (target.kind === 'image') {
      p.base = { kind: 'image', image: await ctx.images.resolve(target.ref, p.platform, from.image.range) };
    }
    return true;
  });
  p.failed = ok === undefined;
  p.commands = [...triggers(ctx, decl, p), ...decl.instructions.map(ownCommand)];
  for (const c of p.commands) for (const name of fromNames(c.ins)) {
    try {
      const r = ctx.refs.ref(name, decl.index, c.location);
      if (r.kind === 'stage') p.deps.add(r.stage);
    } catch {
      // Reported with its location when the command is lowered.
    }
  }
  return p;
}

function ownCommand(ins: Instruction): Command {
  return { ins, location: ins.range, text: ins.original, at: (r) => r };
}

/** Names an instruction reads from other stages (`COPY --from`, `RUN --mount from=`). */
function fromNames(ins: Instruction): string[] {
  if ((ins.keyword === 'COPY' || ins.keyword === 'ADD') && ins.copyFlags.from?.value) return [ins.copyFlags.from.value];
  if (ins.keyword === 'RUN') return ins.mounts.flatMap((m) => (m.value ? [mountFrom(m.value) ?? ''] : [])).filter((n) => n !== '');
  return [];
}

const NOT_TRIGGERS = new Set(['ONBUILD', 'FROM', 'MAINTAINER']);

/** ONBUILD triggers fired by this FROM: the base image's `OnBuild`, or the base stage's ONBUILD instructions. */
function triggers(ctx: PrepareContext, decl: StageDecl, p: PreparedStage): Command[] {
  const at = decl.from.range;
  if (p.base.kind === 'stage') {
    const own = ctx.refs.decl(p.base.stage).instructions;
    return own.flatMap((ins) => (ins.keyword === 'ONBUILD' ? [{ ins: ins.trigger, location: at, text: ins.original, at: (r: SourceRange) => r }] : []));
  }
  if (p.base.kind !== 'image') return [];
  const out: Command[] = [];
  for (const expr of p.base.image.config.config?.OnBuild ?? []) {
    // Parsed behind a FROM: a lone instruction would otherwise be "outside any stage".
    const parsed = parse(`FROM scratch\n${expr}`, { file: `${p.base.image.ref} ONBUILD` });
    const ins = parsed.dockerfile.instructions.slice(1);
    if (parsed.errors.length > 0 || ins.length !== 1) {
      const why = parsed.errors[0]?.message ?? 'onbuild trigger should be a single expression';
      ctx.diags.error('TB_PLAN_ONBUILD', `invalid ONBUILD trigger "${expr}" in ${p.base.image.ref}: ${why}`, at);
      continue;
    }
    const trigger = ins[0]!;
    if (NOT_TRIGGERS.has(trigger.keyword)) {
      ctx.diags.error('TB_PLAN_ONBUILD', `${trigger.keyword} isn't allowed as an ONBUILD trigger (in ${p.base.image.ref})`, at);
      continue;
    }
    // The trigger's text is not in this file: every error it raises points at the FROM line.
    out.push({ ins: trigger, location: at, text: `ONBUILD ${expr}`, at: () => at });
  }
  return out;
}
