import { BuildError } from '@tbuild/errors';
import type { ContextFs, EntryStat, Yielder } from './context-fs.ts';
import type { IgnoreMatcher } from './dockerignore.ts';
import { badPattern, ContextErrorCode, sourceNotFound } from './errors.ts';
import { BadPatternError, containsWildcards, goMatch } from './go-match.ts';
import { baseName, contextRel, dirName, joinRel } from './go-path.ts';
import { PatternList } from './pattern-matcher.ts';
import type { MatchState } from './pattern-matcher.ts';
import type { ContextSelection, SelectedFile } from './types.ts';

/** Linux's limit on symlinks followed while resolving one path. */
const MAX_SYMLINK_HOPS = 40;

/** The shared, per-build state selection works on. */
export interface SelectEnv {
  fs: ContextFs;
  ignore: IgnoreMatcher;
  yielder: Yielder;
  /** .dockerignore walk states of directories, so each is computed once per build. */
  ignoreStates: Map<string, MatchState>;
}

type Resolved = { found: true; rel: string; st: EntryStat } | { found: false; failedAt: string; ignored: boolean };

/**
 * Selects what one COPY/ADD takes from the context, following BuildKit's copy semantics:
 * each source is cleaned into the root; a source with wildcards is matched component-wise
 * with Go's filepath.Match below its literal prefix (no match is not an error); symlinks in
 * the source path are resolved inside the root (absolute targets re-rooted, `..` clamped);
 * a directory contributes its contents; .dockerignore'd paths do not exist; `--exclude`
 * applies below each source; `--parents` copies the pivot directory filtered by the pattern.
 */
export async function selectFiles(env: SelectEnv, sel: ContextSelection): Promise<SelectedFile[]> {
  const out: SelectedFile[] = [];
  const exclude = sel.excludes.length > 0 ? parseList(sel.excludes, 'COPY --exclude') : undefined;
  const follow = sel.followSymlinks ?? true;
  for (const source of sel.sources) {
    let src = source;
    let include: PatternList | undefined;
    if (sel.parents) {
      const cut = source.indexOf('/./');
      const pattern = cut >= 0 ? source.slice(cut + 3) : source;
      src = cut >= 0 ? source.slice(0, cut) : '/';
      const patRel = contextRel(pattern);
      if (patRel !== '') include = parseList([patRel], 'COPY --parents');
      if (!containsWildcards(src) && !containsWildcards(pattern)) {
        const required = contextRel(src + '/' + pattern);
        const r = resolve(env, required, true);
        if (!r.found) throw notFound(env, required, r);
      }
    }
    const srcRel = contextRel(src);
    const wildcard = containsWildcards(srcRel);
    const matches = wildcard ? await expandWildcards(env, srcRel) : [srcRel];
    for (const m of matches) {
      const r = resolve(env, m, follow);
      if (!r.found) {
        if (wildcard) continue;
        throw notFound(env, m, r);
      }
      if (r.st.type === 'dir') {
        const n = await walkContents(env, { source, baseRel: r.rel, include, exclude, out });
        if (n === 0 && !wildcard && isIgnored(env, r.rel)) throw notFound(env, m, { found: false, failedAt: r.rel, ignored: true });
      } else if (r.st.type !== 'other') {
        out.push({ ...entry(env, source, r.rel, sel.parents ? baseName(r.rel) : baseName(m), r.st), direct: true });
      }
    }
  }
  return out;
}

function parseList(patterns: string[], origin: string): PatternList {
  try {
    return PatternList.parse(patterns);
  } catch (e) {
    if (e instanceof BadPatternError) throw badPattern(e.pattern, origin);
    throw e;
  }
}

function entry(env: SelectEnv, source: string, rel: string, destRel: string, st: EntryStat): SelectedFile {
  const e: SelectedFile = {
    source,
    relPath: rel,
    destRel,
    absPath: env.fs.abs(rel),
    type: st.type === 'dir' ? 'dir' : st.type === 'symlink' ? 'symlink' : 'file',
    mode: st.perm,
    uid: st.uid,
    gid: st.gid,
    size: st.type === 'dir' ? 0 : st.size,
    mtimeMs: st.mtimeMs,
  };
  if (st.type === 'symlink') e.linkTarget = env.fs.readlink(rel);
  return e;
}

function ignoreState(env: SelectEnv, rel: string): MatchState | undefined {
  if (rel === '' || env.ignore.isEmpty) return undefined;
  const hit = env.ignoreStates.get(rel);
  if (hit) return hit;
  const state = env.ignore.step(rel, ignoreState(env, dirName(rel)));
  env.ignoreStates.set(rel, state);
  return state;
}

function isIgnored(env: SelectEnv, rel: string): boolean {
  return ignoreState(env, rel)?.matched ?? false;
}

/**
 * Whether .dockerignore removes `rel` from the context. An excluded directory that a `!`
 * exception may reach into still exists (it holds the re-included files).
 */
function hidden(env: SelectEnv, rel: string, st: EntryStat): boolean {
  if (!isIgnored(env, rel)) return false;
  return st.type !== 'dir' || env.ignore.canSkipMatchedDir(rel);
}

/** Resolves `rel` component by component inside the root (securejoin semantics). */
function resolve(env: SelectEnv, rel: string, followFinal: boolean): Resolved {
  const queue = rel === '' ? [] : rel.split('/');
  const done: string[] = [];
  let hops = 0;
  let st = env.fs.lstat('');
  while (queue.length > 0) {
    const c = queue.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      done.pop();
      continue;
    }
    const cur = joinRel(done.join('/'), c);
    st = env.fs.lstat(cur);
    if (st === null) return { found: false, failedAt: cur, ignored: false };
    if (hidden(env, cur, st)) return { found: false, failedAt: cur, ignored: true };
    if (st.type === 'symlink' && (queue.length > 0 || followFinal)) {
      if (++hops > MAX_SYMLINK_HOPS) {
        throw new BuildError({
          code: ContextErrorCode.tooManySymlinks,
          message: `too many levels of symbolic links resolving ${JSON.stringify('/' + rel)}`,
        });
      }
      const target = env.fs.readlink(cur);
      if (target.startsWith('/')) done.length = 0;
      queue.unshift(...target.split('/'));
      continue;
    }
    if (queue.some((q) => q !== '' && q !== '.') && st.type !== 'dir') return { found: false, failedAt: cur, ignored: false };
    done.push(c);
  }
  const final = done.join('/');
  st = env.fs.lstat(final);
  if (st === null) return { found: false, failedAt: final, ignored: false };
  return { found: true, rel: final, st };
}

function notFound(env: SelectEnv, shownRel: string, r: Extract<Resolved, { found: false }>): BuildError {
  let siblings: string[] = [];
  const parent = dirName(r.failedAt);
  const pst = env.fs.lstat(parent);
  if (!r.ignored && pst?.type === 'dir') {
    siblings = env.fs.readdir(parent).filter((n) => {
      const st = env.fs.lstat(joinRel(parent, n));
      return st !== null && !hidden(env, joinRel(parent, n), st);
    });
  }
  return sourceNotFound({ shown: '/' + shownRel, ignored: r.ignored, siblings, missingName: baseName(r.failedAt) });
}

/**
 * BuildKit `ResolveWildcards`: resolve the literal leading directories, then match the rest
 * of the pattern against paths below them; a matching directory is taken whole.
 */
async function expandWildcards(env: SelectEnv, srcRel: string): Promise<string[]> {
  const parts = srcRel.split('/');
  const firstWild = parts.findIndex((p) => containsWildcards(p));
  const pattern = parts.slice(firstWild).join('/');
  const depth = parts.length - firstWild;
  const base = resolve(env, parts.slice(0, firstWild).join('/'), true);
  if (!base.found || base.st.type !== 'dir') return [];
  const out: string[] = [];
  const visit = async (dirRel: string, sub: string, level: number): Promise<void> => {
    for (const name of env.fs.readdir(dirRel)) {
      if (env.yielder.due()) await env.yielder.yield();
      const rel = joinRel(dirRel, name);
      const st = env.fs.lstat(rel);
      if (st === null || hidden(env, rel, st)) continue;
      const s = joinRel(sub, name);
      let ok: boolean;
      try {
        ok = goMatch(pattern, s);
      } catch (e) {
        if (e instanceof BadPatternError) throw badPattern(srcRel, 'COPY source');
        throw e;
      }
      if (ok) out.push(rel);
      else if (st.type === 'dir' && level < depth) await visit(rel, s, level + 1);
    }
  };
  await visit(base.rel, '', 1);
  return out;
}

interface WalkOpts {
  source: string;
  baseRel: string;
  include: PatternList | undefined;
  exclude: PatternList | undefined;
  out: SelectedFile[];
}

interface Frame {
  rel: string;
  sub: string;
  names: string[];
  next: number;
  ig: MatchState | undefined;
  inc: MatchState | undefined;
  exc: MatchState | undefined;
  /** Directory entry not yet written: written just before its first descendant. */
  pending: SelectedFile | undefined;
}

/**
 * Emits the contents of directory `baseRel` in copy order (pre-order, names sorted), with an
 * explicit stack so a 10k-deep tree cannot overflow the call stack. Directories that are not
 * themselves selected (excluded by .dockerignore but holding re-included files, or outside a
 * `--parents` pattern) are written lazily before their first selected descendant, as
 * BuildKit's copier creates them. Returns the number of entries emitted.
 */
async function walkContents(env: SelectEnv, o: WalkOpts): Promise<number> {
  const { fs, ignore } = env;
  const before = o.out.length;
  const prefixes = o.include?.literalPrefixes();
  const stack: Frame[] = [
    { rel: o.baseRel, sub: '', names: fs.readdir(o.baseRel), next: 0, ig: ignoreState(env, o.baseRel), inc: undefined, exc: undefined, pending: undefined },
  ];
  let pendingCount = 0;
  const flush = (): void => {
    if (pendingCount === 0) return;
    pendingCount = 0;
    for (const f of stack) {
      if (f.pending) {
        o.out.push(f.pending);
        f.pending = undefined;
      }
    }
  };
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next >= top.names.length) {
      if (top.pending) pendingCount--;
      stack.pop();
      continue;
    }
    if (env.yielder.due()) await env.yielder.yield();
    const name = top.names[top.next++]!;
    const rel = joinRel(top.rel, name);
    const st = fs.lstat(rel);
    if (st === null || st.type === 'other') continue;
    const ig = ignore.isEmpty ? undefined : ignore.step(rel, top.ig);
    const ignored = ig?.matched ?? false;
    if (ignored && (st.type !== 'dir' || ignore.canSkipMatchedDir(rel))) continue;
    const sub = joinRel(top.sub, name);
    const inc = o.include?.step(sub, top.inc);
    const exc = o.exclude?.step(sub, top.exc);
    const excluded = exc?.matched ?? false;
    const selected = (inc?.matched ?? true) && !excluded && !ignored;
    if (st.type !== 'dir') {
      if (selected) {
        flush();
        o.out.push(entry(env, o.source, rel, sub, st));
      }
      continue;
    }
    if (excluded && !o.exclude!.hasExclusions) continue;
    if (prefixes && !(inc?.matched ?? false) && !prefixes.some((p) => underOrAbove(sub, p))) continue;
    const dir = entry(env, o.source, rel, sub, st);
    stack.push({ rel, sub, names: fs.readdir(rel, ignored), next: 0, ig, inc, exc, pending: dir });
    pendingCount++;
    if (selected) flush();
  }
  return o.out.length - before;
}

/** Whether directory `sub` lies on the way to, or below, the literal path `prefix`. */
function underOrAbove(sub: string, prefix: string[]): boolean {
  const parts = sub.split('/');
  const n = Math.min(parts.length, prefix.length);
  for (let i = 0; i < n; i++) if (parts[i] !== prefix[i]) return false;
  return true;
}
