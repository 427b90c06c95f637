import { BuildError, suggest } from '@tbuild/errors';

/** One target of a bake file, after `inherits` are applied. Field names follow buildx's JSON bake format. */
export interface BakeTarget {
  name: string;
  context: string;
  dockerfile: string;
  args: Record<string, string>;
  tags: string[];
  target?: string;
  labels: Record<string, string>;
  noCache: boolean;
  platforms: string[];
  outputs: string[];
  /** `cache-from` / `cache-to` values, as `build --cache-from/--cache-to` takes them (docs/remote-cache.md). */
  cacheFrom: string[];
  cacheTo: string[];
  /** `secret`, `ssh`, `entitlements`, `no-cache-filter`, as buildx's bake names them; values as the build flags take them. */
  secrets: string[];
  ssh: string[];
  entitlements: string[];
  noCacheFilter: string[];
  network?: 'default' | 'none' | 'host';
  dockerfileInline?: string;
  /** `contexts`: named contexts, as `--build-context` takes them (directories relative to the bake file). */
  contexts: Record<string, string>;
  /** `extra-hosts`: host to IP, as `--add-host` takes them. */
  extraHosts: Record<string, string>;
}

interface RawTarget {
  context?: string;
  dockerfile?: string;
  args?: Record<string, string | null>;
  tags?: string[];
  target?: string;
  labels?: Record<string, string | null>;
  inherits?: string[];
  'no-cache'?: boolean;
  platforms?: string[];
  output?: string[];
  'cache-from'?: string[];
  'cache-to'?: string[];
  secret?: string[];
  ssh?: string[];
  entitlements?: string[];
  'no-cache-filter'?: string[];
  network?: string;
  'dockerfile-inline'?: string;
  contexts?: Record<string, string>;
  'extra-hosts'?: Record<string, string | null>;
}

interface RawBake {
  group?: Record<string, { targets?: string[] }>;
  target?: Record<string, RawTarget>;
}

function bakeError(message: string, hint?: string): BuildError {
  return new BuildError({ code: 'TB_BAKE_INVALID', message, hint });
}

/**
 * Reads a buildx bake file (JSON form) and resolves the requested names (targets or groups,
 * default group `default`, else every target) into fully inherited targets, each once.
 */
export function resolveBakeFile(text: string, file: string, names: string[]): BakeTarget[] {
  let raw: RawBake;
  try {
    raw = JSON.parse(text) as RawBake;
  } catch (e) {
    throw bakeError(`${file}: not valid JSON: ${(e as Error).message}`, 'tbuild bake reads the JSON bake format (docker-bake.json)');
  }
  const targets = raw.target ?? {};
  const groups = raw.group ?? {};
  const wanted = names.length ? names : groups.default ? ['default'] : Object.keys(targets);
  const order: string[] = [];
  const seen = new Set<string>();
  const expand = (name: string, stack: string[]): void => {
    if (stack.includes(name)) throw bakeError(`${file}: group cycle: ${[...stack, name].join(' -> ')}`);
    if (groups[name]) {
      for (const t of groups[name].targets ?? []) expand(t, [...stack, name]);
      return;
    }
    if (!targets[name]) {
      const near = suggest(name, [...Object.keys(targets), ...Object.keys(groups)]);
      throw bakeError(`${file}: no target or group named "${name}"`, near ? `did you mean "${near}"?` : undefined);
    }
    if (!seen.has(name)) {
      seen.add(name);
      order.push(name);
    }
  };
  for (const n of wanted) expand(n, []);

  const resolved = new Map<string, RawTarget>();
  const resolve = (name: string, stack: string[]): RawTarget => {
    const done = resolved.get(name);
    if (done) return done;
    if (stack.includes(name)) throw bakeError(`${file}: inherits cycle: ${[...stack, name].join(' -> ')}`);
    const t = targets[name];
    if (!t) throw bakeError(`${file}: target "${stack[stack.length - 1]}" inherits unknown target "${name}"`);
    let merged: RawTarget = {};
    for (const parent of t.inherits ?? []) {
      const p = resolve(parent, [...stack, name]);
      merged = mergeMaps(merged, p);
    }
    merged = mergeMaps(merged, t);
    resolved.set(name, merged);
    return merged;
  };

  return order.map((name) => {
    const t = resolve(name, []);
    return {
      name,
      context: t.context ?? '.',
      dockerfile: t.dockerfile ?? 'Dockerfile',
      args: dropNulls(t.args),
      tags: t.tags ?? [],
      target: t.target,
      labels: dropNulls(t.labels),
      noCache: t['no-cache'] ?? false,
      platforms: t.platforms ?? [],
      outputs: t.output ?? [],
      cacheFrom: t['cache-from'] ?? [],
      cacheTo: t['cache-to'] ?? [],
      secrets: t.secret ?? [],
      ssh: t.ssh ?? [],
      entitlements: t.entitlements ?? [],
      noCacheFilter: t['no-cache-filter'] ?? [],
      contexts: t.contexts ?? {},
      extraHosts: dropNulls(t['extra-hosts']),
      ...(t.network !== undefined ? { network: networkOf(file, name, t.network) } : {}),
      ...(t['dockerfile-inline'] !== undefined ? { dockerfileInline: t['dockerfile-inline'] } : {}),
    };
  });
}

/** `over` on top of `base`, the map attributes merged key by key as buildx merges them. */
function mergeMaps(base: RawTarget, over: RawTarget): RawTarget {
  return {
    ...base,
    ...over,
    args: { ...base.args, ...over.args },
    labels: { ...base.labels, ...over.labels },
    contexts: { ...base.contexts, ...over.contexts },
    'extra-hosts': { ...base['extra-hosts'], ...over['extra-hosts'] },
  };
}

// buildx lets a child target unset an inherited arg with null.
function dropNulls(o: Record<string, string | null> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o ?? {})) if (v !== null && v !== undefined) out[k] = String(v);
  return out;
}

function networkOf(file: string, target: string, v: string): 'default' | 'none' | 'host' {
  if (v === 'default' || v === 'none' || v === 'host') return v;
  throw bakeError(`${file}: target "${target}" has network "${v}"`, 'use default, none or host');
}
