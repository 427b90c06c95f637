import { diffKeyInputs } from '@tbuild/planner';
import type { ExplainFile, StepExplain } from './explain-record.ts';
import { describeFileDiff, diffFiles } from './file-diff.ts';
import { looksSecret, redactText } from './redact.ts';

/** One input of a step's key that differs from an earlier build of it, in user terms. */
export interface WhyDifference {
  /** Which input: `base`, `config` (an ENV/ARG/... before the step), `parent`, `kind`, or `op.<field>`. */
  input: string;
  message: string;
}

/** What the comparison needs to know about the current build beyond the two pre-images. */
export interface CompareContext {
  /** Build args the step can see (so `VERSION=1.3` in its env reads as a build arg, not an ENV). */
  argNames: Set<string>;
  /** Stage label whose final key this is, for COPY --from / mount from= sources. */
  stageOfKey(key: string): string | undefined;
  /** `line N \`TEXT\`` of a cached step's key, when the store has its record. */
  describeKey(key: string): string | undefined;
}

interface KeyInputs {
  kind?: string;
  parent?: string;
  op?: Record<string, unknown>;
}

export interface CompareSide {
  keyInputs: unknown;
  text: string;
  explain?: StepExplain;
}

/**
 * Every input that differs between an earlier build of a step (`before`) and the planned one
 * (`after`), in the order the key chains them: what the stage starts from, the config-only steps
 * before it, the previous step, then the step's own instruction. The first one is the answer to
 * "why did this miss"; the count ranks candidate records.
 */
export function compareStep(before: CompareSide, after: CompareSide, cx: CompareContext): WhyDifference[] {
  const a = before.keyInputs as KeyInputs;
  const b = after.keyInputs as KeyInputs;
  const out: WhyDifference[] = [];
  const ea = before.explain;
  const eb = after.explain;

  let chainDiffers = false;
  if (ea?.base && eb?.base && ea.base.key !== eb.base.key) {
    chainDiffers = true;
    out.push({ input: 'base', message: describeBase(ea.base, eb.base) });
  } else if (ea && eb) {
    const n = Math.max(ea.chain.length, eb.chain.length);
    for (let i = 0; i < n; i++) {
      const x = ea.chain[i];
      const y = eb.chain[i];
      if (x && y && canonicalOp(x.keyInputs) === canonicalOp(y.keyInputs)) continue;
      chainDiffers = true;
      if (!x) out.push({ input: 'config', message: `line ${y!.line} \`${firstLine(y!.text)}\` was added before it` });
      else if (!y) out.push({ input: 'config', message: `\`${firstLine(x.text)}\` before it was removed` });
      else out.push({ input: 'config', message: `${describeConfig(x, y, cx)} (line ${y.line} \`${firstLine(y.text)}\`)` });
      break;
    }
  }
  if (!chainDiffers && a.parent !== b.parent) {
    const prevA = ea ? (ea.chain[0] ? (ea.chain[0].keyInputs as KeyInputs).parent : a.parent) : a.parent;
    const prevB = eb ? (eb.chain[0] ? (eb.chain[0].keyInputs as KeyInputs).parent : b.parent) : b.parent;
    const was = prevA ? cx.describeKey(prevA) : undefined;
    const now = prevB ? cx.describeKey(prevB) : undefined;
    out.push({
      input: 'parent',
      message: was && now ? `previous step changed: was ${was}, now ${now}` : 'previous step changed (an instruction before it was added, removed or changed)',
    });
  }
  // Same kind: the op fields say what changed more precisely than the two texts would.
  if (a.kind !== b.kind) out.push({ input: 'kind', message: `instruction changed: \`${firstLine(before.text)}\` -> \`${firstLine(after.text)}\`` });
  else out.push(...compareOps(b.kind ?? '', a.op ?? {}, b.op ?? {}, ea, eb, cx));
  return out;
}

const FIELD_ORDER: Record<string, string[]> = {
  run: ['args', 'files', 'env', 'mounts', 'user', 'workdir', 'network', 'security', 'form'],
  copy: ['sources', 'urls', 'inline', 'dest', 'from', 'excludes', 'parents', 'chown', 'chmod', 'link', 'checksum', 'keepGitDir', 'unpack'],
  workdir: ['path', 'user', 'mkdir'],
};

const FLAG_NAMES: Record<string, string> = {
  user: 'USER',
  workdir: 'WORKDIR',
  network: '--network',
  security: '--security',
  form: 'form',
  dest: 'destination',
  excludes: '--exclude',
  parents: '--parents',
  chown: '--chown',
  chmod: '--chmod',
  link: '--link',
  checksum: '--checksum',
  keepGitDir: '--keep-git-dir',
  unpack: '--unpack',
  urls: 'URLs',
  path: 'path',
  mkdir: 'mkdir',
};

function compareOps(kind: string, a: Record<string, unknown>, b: Record<string, unknown>, ea: StepExplain | undefined, eb: StepExplain | undefined, cx: CompareContext): WhyDifference[] {
  const order = FIELD_ORDER[kind === 'add' ? 'copy' : kind] ?? [];
  const fields = [...order, ...[...new Set([...Object.keys(a), ...Object.keys(b)])].filter((f) => !order.includes(f)).sort()];
  const out: WhyDifference[] = [];
  for (const f of fields) {
    if (canonical(a[f]) === canonical(b[f])) continue;
    out.push({ input: `op.${f}`, message: describeField(f, a[f], b[f], ea, eb, cx) });
  }
  return out;
}

function describeField(field: string, x: unknown, y: unknown, ea: StepExplain | undefined, eb: StepExplain | undefined, cx: CompareContext): string {
  switch (field) {
    case 'args':
      return `command changed: ${showArgs(x)} -> ${showArgs(y)}`;
    case 'env':
      return describeEnv(asStrings(x), asStrings(y), cx.argNames);
    case 'files':
    case 'inline':
      return 'heredoc content changed';
    case 'sources':
      return `sources changed: ${asStrings(x).join(' ')} -> ${asStrings(y).join(' ')}`;
    case 'from':
      return describeSource(x, y, ea, eb, cx);
    case 'mounts':
      return describeMounts(x, y, ea, eb, cx);
    default:
      return `${FLAG_NAMES[field] ?? field} changed: ${show(x)} -> ${show(y)}`;
  }
}

function describeSource(x: unknown, y: unknown, ea: StepExplain | undefined, eb: StepExplain | undefined, cx: CompareContext): string {
  const sx = x as { kind?: string; digest?: string; key?: string } | undefined;
  const sy = y as { kind?: string; digest?: string; key?: string } | undefined;
  if (sx?.kind === 'context' && sy?.kind === 'context') return contextChange(sx.digest!, sy.digest!, ea, eb);
  if (sy?.kind === 'stage') return `source stage ${quoteStage(cx.stageOfKey(sy.key ?? ''))} changed`;
  if (sx?.kind === 'image' && sy?.kind === 'image') return `source image digest changed ${short(sx.digest)} -> ${short(sy.digest)}`;
  return `source changed: ${sx?.kind ?? 'none'} -> ${sy?.kind ?? 'none'}`;
}

function contextChange(dx: string, dy: string, ea: StepExplain | undefined, eb: StepExplain | undefined): string {
  const fx = ea?.files[dx];
  const fy = eb?.files[dy];
  if (fx && fy) return describeFileDiff(diffFiles(fx as ExplainFile[], fy as ExplainFile[]));
  return `context files changed (${short(dx)} -> ${short(dy)}; the earlier build did not record its file list)`;
}

function describeMounts(x: unknown, y: unknown, ea: StepExplain | undefined, eb: StepExplain | undefined, cx: CompareContext): string {
  const mx = (Array.isArray(x) ? x : []) as Array<Record<string, unknown>>;
  const my = (Array.isArray(y) ? y : []) as Array<Record<string, unknown>>;
  if (mx.length === my.length) {
    for (let i = 0; i < my.length; i++) {
      const p = mx[i]!;
      const q = my[i]!;
      if (canonical(p) === canonical(q)) continue;
      const withoutFrom = (m: Record<string, unknown>): string => canonical({ ...m, from: undefined });
      if (withoutFrom(p) === withoutFrom(q) && q.from) return `${String(q.type)} mount ${String(q.target)}: ${describeSource(p.from, q.from, ea, eb, cx)}`;
      const d = diffKeyInputs(p, q)[0];
      return `--mount ${String(q.target ?? p.target)} changed${d ? `: ${d.path} ${show(d.before)} -> ${show(d.after)}` : ''}`;
    }
  }
  return `--mount list changed: ${mx.length} -> ${my.length} mounts`;
}

function describeEnv(x: string[], y: string[], argNames: Set<string>): string {
  const split = (l: string[]): Map<string, string> => new Map(l.map((kv) => [kv.slice(0, kv.indexOf('=') < 0 ? kv.length : kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const mx = split(x);
  const my = split(y);
  const names = [...new Set([...mx.keys(), ...my.keys()])].sort((p, q) => (p < q ? -1 : p > q ? 1 : 0));
  for (const n of names) {
    const p = mx.get(n);
    const q = my.get(n);
    if (p === q) continue;
    const what = argNames.has(n) ? `build arg ${n}` : `env ${n}`;
    const secret = looksSecret(n);
    if (p === undefined) return secret ? `${what} was set (value redacted)` : `${what} was set to ${q}`;
    if (q === undefined) return secret ? `${what} was unset (value redacted)` : `${what} was unset (was ${p})`;
    return secret ? `${what} changed (value redacted)` : `${what} changed ${p} -> ${q}`;
  }
  return 'environment order changed';
}

function describeConfig(x: { keyInputs: unknown; text: string }, y: { keyInputs: unknown; text: string }, cx: CompareContext): string {
  const ox = (x.keyInputs as KeyInputs).op ?? {};
  const oy = (y.keyInputs as KeyInputs).op ?? {};
  const cfx = (ox.config ?? {}) as Record<string, unknown>;
  const cfy = (oy.config ?? {}) as Record<string, unknown>;
  if (canonical(cfx.Env) !== canonical(cfy.Env)) return describeEnv(asStrings(cfx.Env), asStrings(cfy.Env), cx.argNames);
  if (firstLine(x.text) !== firstLine(y.text)) return `instruction changed: \`${firstLine(x.text)}\` -> \`${firstLine(y.text)}\``;
  const d = diffKeyInputs(cfx, cfy)[0];
  return d ? `image config ${d.path} changed: ${show(d.before)} -> ${show(d.after)}` : 'image config changed';
}

function describeBase(a: NonNullable<StepExplain['base']>, b: NonNullable<StepExplain['base']>): string {
  if (a.kind === 'image' && b.kind === 'image') {
    if (a.digest !== b.digest) return `base image digest changed: ${familiar(b.ref)} ${short(a.digest)} -> ${short(b.digest)}`;
    return `base image platform changed (${familiar(b.ref)})`;
  }
  const name = (x: typeof a): string => (x.kind === 'image' ? `${familiar(x.ref)}@${short(x.digest)}` : 'scratch');
  return `base image changed: ${name(a)} -> ${name(b)}`;
}

function familiar(ref: string): string {
  return ref.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '');
}

function quoteStage(s: string | undefined): string {
  return s === undefined ? '(another stage)' : `"${s}"`;
}

export function short(d: string | undefined): string {
  return d ? d.replace(/^sha256:/, '').slice(0, 12) : '?';
}

/** First line of an instruction, with secret-looking `K=V` values redacted (it is echoed to users). */
export function firstLine(text: string): string {
  return redactText(text.split('\n')[0]!.trim());
}

function showArgs(v: unknown): string {
  const l = asStrings(v);
  // Shell form: the script is what the user wrote; the shell prefix is the same on both sides.
  if (l.length === 3 && l[1] === '-c') return `\`${l[2]}\``;
  return JSON.stringify(l);
}

function asStrings(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : [];
}

function show(v: unknown): string {
  if (v === undefined) return '(none)';
  if (typeof v === 'string') return v === '' ? '""' : v;
  return JSON.stringify(v);
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([p], [q]) => (p < q ? -1 : p > q ? 1 : 0))) : x,
  ) ?? 'undefined';
}

function canonicalOp(k: unknown): string {
  return canonical((k as KeyInputs).op);
}
