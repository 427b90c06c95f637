import { BuildError, suggest } from '@tbuild/errors';
import { EnvList, isBuiltinArg } from './args.ts';
import { imageRootKey, scratchRootKey } from './cache-key.ts';
import { Diagnostics } from './diagnostics.ts';
import { Expander } from './expand.ts';
import { warnSecretName } from './lint.ts';
import type { FinishedStage, LowerContext, StageState } from './lower/context.ts';
import { lowerCommand } from './lower/dispatch.ts';
import { platformArgs } from './platform.ts';
import { ImageCache, StageRefs, prepareStage } from './prepare.ts';
import type { PrepareContext, PreparedStage } from './prepare.ts';
import { splitStages } from './stages.ts';
import type { StageDecl } from './stages.ts';
import type { ImageConfig, Plan, PlanInput, PlannedStage, StageBase } from './types.ts';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Turns a parsed Dockerfile into the build graph. Pure apart from the two injected interfaces:
 * the same input (and the same answers from resolver and hasher) always gives the same plan.
 * Throws one BuildError holding every problem found; warnings are returned in the plan.
 */
export async function plan(input: PlanInput): Promise<Plan> {
  // Ranges index the text the parser saw (a BOM removed), which may differ from the file's bytes.
  const file = { path: input.file.path, text: input.dockerfile.source?.text ?? input.file.text };
  const diags = new Diagnostics(file);
  const expander = new Expander(input.dockerfile.directives.escape, file);
  const split = splitStages(input.dockerfile, diags);
  const decls = split.stages;
  const refs = new StageRefs(decls, diags, input.namedContexts ?? {});
  const consumedArgs = new Set<string>();
  const globalArgs = resolveGlobalArgs(input, split.globalArgs, expander, diags, consumedArgs);
  const target = resolveTarget(input, decls, diags);
  if (target === undefined) throw new BuildError(diags.errors);

  const images = new ImageCache(input.resolver, diags, () => refs.names());
  const pctx: PrepareContext = { input, diags, expander, globalArgs, refs, images };

  // Only stages the target reaches are resolved and planned (base images of unused stages are never pulled).
  const prepared = new Map<number, PreparedStage>();
  const queue = [target];
  while (queue.length > 0) {
    const i = queue.shift()!;
    if (prepared.has(i)) continue;
    const p = await prepareStage(pctx, decls[i]!);
    prepared.set(i, p);
    for (const d of [...p.deps].sort((a, b) => a - b)) queue.push(d);
  }

  const ctx: LowerContext = {
    input,
    diags,
    expander,
    globalArgs,
    consumedArgs,
    steps: [],
    finished: new Map(),
    resolveImage: (ref, platform, range) => images.resolve(ref, platform, range),
    stageRef: (name, from, range) => refs.ref(name, from, range),
  };
  // Every reference points to an earlier stage, so file order is a dependency order.
  const order = [...prepared.keys()].sort((a, b) => a - b);
  for (const i of order) {
    const p = prepared.get(i)!;
    const st = initialState(ctx, p);
    for (const cmd of p.commands) await diags.capture(cmd.location, () => lowerCommand(ctx, st, cmd));
    ctx.finished.set(i, finish(st, p, ctx));
  }

  const tgt = ctx.finished.get(target)!;
  if (input.labels) {
    const cfg = (tgt.config.config ??= {});
    const labels = { ...(cfg.Labels ?? {}) };
    for (const k of Object.keys(input.labels).sort()) labels[k] = input.labels[k]!;
    cfg.Labels = labels;
  }
  warnUnusedBuildArgs(input, consumedArgs, diags);
  if (diags.errors.length > 0) throw new BuildError(diags.errors);

  const stages: PlannedStage[] = order.map((i) => {
    const f = ctx.finished.get(i)!;
    const s: PlannedStage = {
      index: f.index,
      platform: f.platform,
      base: f.base,
      root: f.root,
      baseKey: f.baseKey,
      finalKey: f.finalKey,
      steps: f.steps,
      location: f.location,
      config: f.config,
    };
    if (f.name !== undefined) s.name = f.name;
    if (f.parentStep !== undefined) s.parentStep = f.parentStep;
    return s;
  });
  return { stages, steps: ctx.steps, target, warnings: diags.warnings };
}

function resolveGlobalArgs(
  input: PlanInput,
  args: ReturnType<typeof splitStages>['globalArgs'],
  expander: Expander,
  diags: Diagnostics,
  consumed: Set<string>,
): EnvList {
  const env = new EnvList(platformArgs(input.platform, input.buildPlatform));
  for (const [k] of platformArgs(input.platform, input.buildPlatform)) {
    if (Object.hasOwn(input.buildArgs, k)) env.set(k, input.buildArgs[k]!);
  }
  for (const ins of args) {
    for (const decl of ins.args) {
      const name = decl.name.value;
      consumed.add(name);
      warnSecretName(diags, 'ARG', name, decl.name.range);
      let value: string | undefined;
      if (Object.hasOwn(input.buildArgs, name)) value = input.buildArgs[name];
      else if (decl.defaultValue) {
        const dv = decl.defaultValue;
        try {
          value = expander.word(dv.value, env, dv.range);
        } catch (e) {
          diags.absorb(e, dv.range);
        }
      }
      if (value !== undefined) env.set(name, value);
    }
  }
  return env;
}

function resolveTarget(input: PlanInput, decls: StageDecl[], diags: Diagnostics): number | undefined {
  if (decls.length === 0) return undefined;
  if (input.target === undefined || input.target === '') return decls.length - 1;
  const want = input.target.toLowerCase();
  const byName = decls.find((d) => d.name === want);
  if (byName) return byName.index;
  if (/^\d+$/.test(want) && Number(want) < decls.length) return Number(want);
  const names = decls.flatMap((d) => (d.name ? [d.name] : []));
  const s = suggest(input.target, names);
  diags.error('TB_PLAN_UNKNOWN_TARGET', `target stage "${input.target}" could not be found`, undefined, s ? `did you mean "${s}"?` : names.length ? `stages: ${names.join(', ')}` : undefined);
  return undefined;
}

function scratchConfig(p: PreparedStage, ctx: LowerContext): ImageConfig {
  const pl = p.platformFlag ?? ctx.input.platform;
  // BuildKit's emptyImage: WorkingDir "/" is written into a scratch-based image's config.
  const cfg: ImageConfig = { architecture: pl.architecture, os: pl.os, config: { WorkingDir: '/' }, rootfs: { type: 'layers', diff_ids: [] }, history: [] };
  if (pl.variant) cfg.variant = pl.variant;
  return cfg;
}

function initialState(ctx: LowerContext, p: PreparedStage): StageState {
  const input = ctx.input;
  const noCache = input.noCache === true || (input.noCacheFilter ?? []).some((f) => f.toLowerCase() === p.decl.name || f === String(p.decl.index));
  const common = { index: p.decl.index, stepCount: 0, cmdSet: false, noCache, ...(p.decl.name ? { name: p.decl.name } : {}) };
  let st: StageState;
  if (p.base.kind === 'stage') {
    const b = ctx.finished.get(p.base.stage)!;
    const config = structuredClone(b.config);
    // Triggers of a base stage fire here and must not fire again in grand-children.
    if (config.config) delete config.config.OnBuild;
    st = { ...common, platform: p.platformFlag ?? b.platform, config, env: b.env.clone(), args: [...b.args], key: b.finalKey, lastStep: b.lastStep };
  } else {
    const platform = p.platformFlag ?? input.platform;
    const image = p.base.kind === 'image' ? p.base.image : undefined;
    const config = image && !p.failed ? structuredClone(image.config) : scratchConfig(p, ctx);
    config.config ??= {};
    delete config.config.OnBuild;
    config.history ??= [];
    const key = image && !p.failed ? imageRootKey(image.digest, platform) : scratchRootKey(platform);
    st = { ...common, platform, config, env: EnvList.fromList(config.config.Env), args: [], key };
  }
  const cfg = st.config.config!;
  if (st.config.os !== 'windows' && !EnvList.fromList(cfg.Env).has('PATH')) {
    cfg.Env = [...(cfg.Env ?? []), `PATH=${DEFAULT_PATH}`];
    st.env.set('PATH', DEFAULT_PATH);
  }
  return st;
}

function finish(st: StageState, p: PreparedStage, ctx: LowerContext): FinishedStage {
  let base: StageBase;
  let root: Exclude<StageBase, { kind: 'stage' }>;
  let baseKey: string;
  let parentStep: string | undefined;
  if (p.base.kind === 'stage') {
    const b = ctx.finished.get(p.base.stage)!;
    base = { kind: 'stage', stage: p.base.stage };
    root = b.root;
    baseKey = b.finalKey;
    parentStep = b.lastStep;
  } else if (p.base.kind === 'image' && !p.failed) {
    const img = p.base.image;
    base = root = { kind: 'image', ref: img.ref, digest: img.digest, config: img.config };
    baseKey = imageRootKey(img.digest, st.platform);
  } else {
    base = root = { kind: 'scratch' };
    baseKey = scratchRootKey(st.platform);
  }
  const steps = ctx.steps.filter((s) => s.stage === st.index).map((s) => s.id);
  return {
    index: st.index,
    ...(st.name ? { name: st.name } : {}),
    platform: st.platform,
    base,
    root,
    ...(parentStep ? { parentStep } : {}),
    baseKey,
    finalKey: st.key,
    ...(st.lastStep ? { lastStep: st.lastStep } : {}),
    steps,
    config: st.config,
    env: st.env,
    args: st.args,
    location: p.decl.from.range,
  };
}

function warnUnusedBuildArgs(input: PlanInput, consumed: Set<string>, diags: Diagnostics): void {
  const platformNames = new Set(platformArgs(input.platform, input.buildPlatform).map(([k]) => k));
  for (const k of Object.keys(input.buildArgs).sort()) {
    if (consumed.has(k) || isBuiltinArg(k) || platformNames.has(k)) continue;
    const s = suggest(k, consumed);
    diags.warn('TB_PLAN_UNUSED_BUILD_ARG', `build-arg "${k}" was not consumed by any ARG of the stages built`, undefined, s ? `did you mean "${s}"?` : undefined);
  }
}
