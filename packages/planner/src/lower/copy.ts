import { BuildError } from '@tbuild/errors';
import type { SourceFile, SourceRange } from '@tbuild/errors';
import type { CopyInstruction, Flag } from '@tbuild/parser';
import { copyOp } from '../cache-key.ts';
import type { KeyedSource } from '../cache-key.ts';
import { planError } from '../diagnostics.ts';
import { cleanPath, resolveAgainst } from '../paths.ts';
import { formatPlatform } from '../platform.ts';
import type { ContextSelection, CopySpec, InlineFile, SourceRef, StepDep } from '../types.ts';
import { addHistory, contextHasher, depOn, emitStep } from './context.ts';
import type { Command, LowerContext, StageState } from './context.ts';

const URL_SOURCE = /^(https?:\/\/|git@|git:\/\/|ssh:\/\/)/i;
const HEREDOC_SOURCE = /^\d*<<-?\s*\S/;
const CHMOD = /^(?:[0-7]{1,4}|(?:[ugoa]*(?:[-+=](?:[rwxXst]*|[ugo]))+)(?:,[ugoa]*(?:[-+=](?:[rwxXst]*|[ugo]))+)*)$/;

function boolFlag(ctx: LowerContext, cmd: Command, f: Flag | undefined): boolean | undefined {
  if (!f) return undefined;
  if (f.value === undefined) return true;
  const v = f.value.toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw planError('TB_PLAN_INVALID_FLAG', `invalid boolean value "${f.value}" for --${f.name}`, ctx.diags.file, cmd.at(f.range), 'use true or false');
}

/** Context-relative form of a COPY source: `..` and leading `/` never leave the context. */
export function contextRelative(src: string, parents = false): string {
  // With --parents a `/./` marks the pivot (rsync --relative): cleaning must not erase it.
  const cut = parents ? src.indexOf('/./') : -1;
  if (cut >= 0) return `${contextRelative(src.slice(0, cut))}/./${cleanPath(`/${src.slice(cut + 3)}`).slice(1)}`;
  return cleanPath(`/${src}`).slice(1) || '.';
}

/** A hasher error naming one missing source ("/x": not found) is pointed at that source's word. */
function pointAtSource(e: unknown, words: Array<{ rel: string; range: SourceRange }>, file: SourceFile): unknown {
  if (!(e instanceof BuildError) || e.diagnostics.some((d) => d.location)) return e;
  const hit = words.find((w) => e.message.includes(`"/${w.rel}"`) || e.message.includes(`"${w.rel}"`));
  if (!hit) return e;
  return new BuildError(e.diagnostics.map((d) => ({ ...d, location: { file, range: hit.range } })), { cause: e });
}

export async function lowerCopy(ctx: LowerContext, st: StageState, cmd: Command, ins: CopyInstruction): Promise<void> {
  const f = ins.copyFlags;
  const env = st.env;
  const file = ctx.diags.file;
  const word = (text: string, range: typeof cmd.location): string => ctx.expander.word(text, env, cmd.at(range));
  const kind = ins.keyword === 'ADD' ? 'add' : 'copy';

  let from: SourceRef = { kind: 'context' };
  let keyed: KeyedSource | undefined;
  const deps: StepDep[] = [];
  if (f.from) {
    const name = f.from.value ?? '';
    if (name.includes('$')) {
      throw planError('TB_PLAN_FROM_VARIABLE', 'variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround', file, cmd.at(f.from.range));
    }
    const ref = ctx.stageRef(name, st.index, cmd.at(f.from.range));
    if (ref.kind === 'named') {
      from = { kind: 'context', name: ref.name };
    } else if (ref.kind === 'stage') {
      from = { kind: 'stage', stage: ref.stage };
      keyed = { kind: 'stage', key: ctx.finished.get(ref.stage)!.finalKey };
      deps.push(depOn(ctx, ref.stage));
    } else {
      const img = await ctx.resolveImage(ref.ref, st.platform, cmd.at(f.from.range));
      from = { kind: 'image', ref: img.ref, digest: img.digest };
      keyed = { kind: 'image', digest: img.digest, platform: formatPlatform(st.platform) };
    }
  }

  const parents = boolFlag(ctx, cmd, f.parents) ?? false;
  const sources: string[] = [];
  const urls: string[] = [];
  const inline: InlineFile[] = [];
  const history: string[] = [];
  const sourceWords: Array<{ rel: string; range: SourceRange }> = [];
  let nextHeredoc = 0;
  for (const w of ins.sources) {
    const h = w.heredoc ?? (HEREDOC_SOURCE.test(w.value) ? ins.heredocs[nextHeredoc] : undefined);
    if (h) {
      nextHeredoc++;
      const content = h.expand ? ctx.expander.raw(h.content, env, cmd.at(h.range)) : h.content;
      inline.push({ path: h.name, content, mode: 0o644 });
      history.push(`<<${h.name}`);
      continue;
    }
    const src = word(w.value, w.range);
    history.push(src);
    if (URL_SOURCE.test(src) && from.kind === 'context' && !from.name) {
      if (kind === 'copy') throw planError('TB_PLAN_COPY_URL', "source can't be a URL for COPY", file, cmd.at(w.range), 'use ADD for remote sources');
      urls.push(src);
      sources.push(src);
      continue;
    }
    sources.push(from.kind === 'context' ? contextRelative(src, parents) : src);
    sourceWords.push({ rel: contextRelative(src), range: cmd.at(w.range) });
  }

  const rawDest = word(ins.destination.value, ins.destination.range);
  const dest = resolveAgainst(st.config.config?.WorkingDir || '/', rawDest);
  if (sources.length + inline.length > 1 && !dest.endsWith('/')) {
    throw planError(
      'TB_PLAN_COPY_DEST',
      `When using ${ins.keyword} with more than one source file, the destination must be a directory and end with a /`,
      file,
      cmd.at(ins.destination.range),
    );
  }

  const chown = f.chown ? word(f.chown.value ?? '', f.chown.range) : undefined;
  const chmod = f.chmod ? word(f.chmod.value ?? '', f.chmod.range) : undefined;
  if (chmod !== undefined && !CHMOD.test(chmod)) {
    throw planError('TB_PLAN_INVALID_CHMOD', `invalid chmod value "${chmod}"`, file, cmd.at(f.chmod!.range), 'use an octal mode up to 7777 (e.g. 0755) or a symbolic mode (e.g. u=rwX,go=rX)');
  }
  const checksum = f.checksum ? word(f.checksum.value ?? '', f.checksum.range) : undefined;
  if (checksum !== undefined && (urls.length !== 1 || sources.length !== 1)) {
    throw planError('TB_PLAN_CHECKSUM', '--checksum can only be used with a single HTTP or Git source', file, cmd.at(f.checksum!.range));
  }
  const link = boolFlag(ctx, cmd, f.link) ?? false;
  const keepGitDir = boolFlag(ctx, cmd, f.keepGitDir);
  const unpack = boolFlag(ctx, cmd, f.unpack);
  // --exclude patterns are never expanded (BuildKit).
  const excludes = f.exclude.map((x) => x.value ?? '');

  let context: ContextSelection | undefined;
  const local = from.kind === 'context' ? sources.filter((s) => !URL_SOURCE.test(s)) : [];
  if (local.length > 0) {
    context = { sources: local, excludes, parents };
    const digest = await contextHasher(ctx, from.kind === 'context' ? from.name : undefined)
      .digest(context)
      .catch((e: unknown) => {
        throw pointAtSource(e, sourceWords, file);
      });
    keyed = { kind: 'context', digest };
  }

  const spec: CopySpec = {
    kind,
    sources,
    urls,
    inline,
    dest,
    from,
    ...(chown !== undefined ? { chown } : {}),
    ...(chmod !== undefined ? { chmod } : {}),
    // BuildKit silently drops --link when --chmod is set.
    link: link && chmod === undefined,
    parents,
    excludes,
    ...(checksum !== undefined ? { checksum } : {}),
    ...(keepGitDir !== undefined ? { keepGitDir } : {}),
    ...(unpack !== undefined ? { unpack } : {}),
    ...(context ? { context } : {}),
  };
  const flagText = [parents ? '--parents' : '', chown !== undefined ? `--chown=${chown}` : '', chmod !== undefined ? `--chmod=${chmod}` : ''].filter((s) => s !== '');
  const h = addHistory(st, `${ins.keyword} ${[...flagText, ...history, rawDest].join(' ')} # buildkit`, false);
  emitStep(ctx, st, cmd, kind, spec, copyOp(spec, keyed), h, deps);
}
