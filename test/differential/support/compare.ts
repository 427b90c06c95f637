import type { ImageConfigJson, SavedImage, TreeNode } from './image-tree.ts';

/**
 * Differences between tbuild's image and BuildKit's, as readable lines ("what tbuild has" vs
 * "what BuildKit has") so a failing case says exactly which path or config field differs.
 */

/** Paths the runtime, not the Dockerfile, puts into a RUN's upper dir (mount stubs). */
export const RUNTIME_PATHS = ['/etc/hosts', '/etc/resolv.conf', '/etc/hostname'];

function describe(n: TreeNode | undefined, withTime = false): string {
  if (!n) return 'absent';
  const mode = n.mode.toString(8).padStart(4, '0');
  const extra = n.type === 'file' ? ` size=${n.size} sha256=${n.sha256?.slice(0, 12)}` : n.type === 'symlink' ? ` -> ${n.linkname}` : '';
  const link = n.linkGroup ? ` hardlink-group=${n.linkGroup}` : '';
  const xattrs = n.xattrs ? ` xattrs=${Object.keys(n.xattrs).sort().join(',')}` : '';
  const time = withTime ? ` mtime=${n.mtime}` : '';
  return `${n.type} ${mode} ${n.uid}:${n.gid}${extra}${link}${xattrs}${time}`;
}

/**
 * Mount points runc creates in the rootfs when a base image lacks them; BuildKit's differ keeps
 * them as empty directories, tbuild's does not (docs/differences.md, "runtime mount points").
 */
export const RUNTIME_MOUNTPOINTS = ['/dev', '/proc', '/sys'];

function isEmptyDir(tree: SavedImage['tree'], p: string): boolean {
  return tree.get(p)?.type === 'dir' && ![...tree.keys()].some((k) => k.startsWith(p + '/'));
}

/**
 * Differences of the merged root filesystems, ignoring the paths in `ignore`. `stubs` are mount
 * targets BuildKit 20.10 leaves behind as empty root-owned directories where tbuild (like
 * current BuildKit) removes them; they are skipped only in exactly that shape.
 */
export function diffTrees(tb: SavedImage['tree'], bk: SavedImage['tree'], opts: { ignore?: readonly string[]; stubs?: readonly string[]; mtimes?: readonly string[] } = {}): string[] {
  const ignore = [...RUNTIME_PATHS, ...(opts.ignore ?? [])];
  const stubs = opts.stubs ?? [];
  const isStub = (p: string): boolean => {
    const n = bk.get(p);
    return stubs.includes(p) && !tb.has(p) && n?.type === 'dir' && n.mode === 0o755 && n.uid === 0 && n.gid === 0 && [...bk.keys()].every((k) => !k.startsWith(p + '/') || stubs.includes(k));
  };
  const out: string[] = [];
  const paths = [...new Set([...tb.keys(), ...bk.keys()])].sort();
  for (const p of paths) {
    if (ignore.includes(p) || isStub(p)) continue;
    if (RUNTIME_MOUNTPOINTS.includes(p) && !tb.has(p) && isEmptyDir(bk, p)) continue;
    const withTime = opts.mtimes?.includes(p) ?? false;
    const a = describe(tb.get(p), withTime);
    const b = describe(bk.get(p), withTime);
    if (a !== b) out.push(`${p}: tbuild ${a} | buildkit ${b}`);
  }
  return out;
}

const CONFIG_FIELDS = ['Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'ExposedPorts', 'Volumes', 'Labels', 'StopSignal', 'Healthcheck', 'Shell', 'OnBuild', 'ArgsEscaped'];

// Docker writes absent and empty fields in different ways (null, {}, [], missing); they mean
// the same to a runtime.
function norm(v: unknown): unknown {
  if (v === null || v === undefined || v === '') return undefined;
  if (Array.isArray(v)) return v.length ? v : undefined;
  if (typeof v === 'object') return Object.keys(v as object).length ? v : undefined;
  return v;
}

/** The compared view of a config: the runtime fields plus author. */
export function configView(c: ImageConfigJson, fields: readonly string[] = CONFIG_FIELDS): Record<string, unknown> {
  const cfg = c.config ?? {};
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const v = norm(cfg[f]);
    if (v !== undefined) out[f] = v;
  }
  if (c.author) out.author = c.author;
  return out;
}

/**
 * History as the secondary check: created_by texts and which entries made no layer. tbuild
 * writes created_by like the current BuildKit frontend; Docker 20.10's frontend words four
 * instructions differently (docs/differences.md, "history text"), so those are compared on
 * what both say: COPY/ADD without --chown/--chmod, ARG by names, EXPOSE by port set,
 * HEALTHCHECK by keyword.
 */
export function historyView(img: SavedImage): Array<{ created_by: string; empty_layer: boolean }> {
  let layer = 0;
  return (img.config.history ?? []).map((h) => {
    // BuildKit writes a layer for an empty diff; tbuild writes none and says empty_layer
    // (docs/differences.md, "empty layers"). Both mean "no change".
    const empty = h.empty_layer === true || noChange(img.layerEntries[layer++]);
    return { created_by: normaliseCreatedBy(h.created_by ?? ''), empty_layer: empty };
  });
}

function normaliseCreatedBy(text: string): string {
  const word = text.split(' ', 1)[0]!;
  const rest = text.slice(word.length + 1);
  switch (word) {
    case 'COPY':
    case 'ADD':
      return [word, ...rest.split(' ').filter((w) => !/^--(chown|chmod)=/.test(w))].join(' ');
    case 'ARG':
      return `ARG ${rest.split(' ').map((kv) => kv.split('=')[0]).join(' ')}`;
    case 'EXPOSE':
      return `EXPOSE ${[...rest.matchAll(/(\d+(?:-\d+)?\/[a-z]+)/g)].map((m) => m[1]).sort().join(' ')}`;
    case 'HEALTHCHECK':
      return 'HEALTHCHECK';
    case 'RUN':
      return `RUN ${dedupeBuildArgs(rest)}`;
    default:
      return text;
  }
}

/** Differences between two configs' runtime fields, one line per field. */
export function diffConfigs(tb: ImageConfigJson, bk: ImageConfigJson, fields?: readonly string[]): string[] {
  const a = configView(tb, fields);
  const b = configView(bk, fields);
  const out: string[] = [];
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const x = canonical(a[k]);
    const y = canonical(b[k]);
    if (x !== y) out.push(`config ${k}: tbuild ${x} | buildkit ${y}`);
  }
  return out;
}

// An empty tar, or only `etc/`: BuildKit's RUN layers carry /etc because removing the
// /etc/hosts and /etc/resolv.conf mount stubs changes its mtime (mtimes are not compared).
function noChange(entries: string[] | undefined): boolean {
  return entries !== undefined && entries.every((e) => e === 'etc/');
}

// Docker 20.10 lists an ARG declared twice twice in `RUN |N K=V ...`; current BuildKit once.
function dedupeBuildArgs(run: string): string {
  const m = /^\|(\d+) /.exec(run);
  if (!m) return run;
  const words = run.slice(m[0].length).split(' ');
  const n = Number(m[1]);
  const seen = new Map<string, string>();
  for (const kv of words.slice(0, n)) seen.set(kv.split('=')[0]!, kv);
  return [`|${seen.size}`, ...seen.values(), ...words.slice(n)].join(' ');
}

/** Differences between two history views, one line per differing entry. */
export function diffHistory(tb: ReturnType<typeof historyView>, bk: ReturnType<typeof historyView>): string[] {
  const out: string[] = [];
  for (let i = 0; i < Math.max(tb.length, bk.length); i++) {
    const a = JSON.stringify(tb[i]);
    const b = JSON.stringify(bk[i]);
    if (a !== b) out.push(`history[${i}]: tbuild ${a} | buildkit ${b}`);
  }
  return out;
}

/** JSON with object keys sorted: Go and JavaScript order struct fields differently. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([p], [q]) => (p < q ? -1 : 1))) : x,
  );
}
