import type { VarLookup } from '@tbuild/parser';

// Matched case-insensitively, usable without an ARG declaration (BuildKit's proxy args).
const PROXY_ARGS = new Set(['http_proxy', 'https_proxy', 'ftp_proxy', 'no_proxy', 'all_proxy']);

export function isProxyArg(name: string): boolean {
  return PROXY_ARGS.has(name.toLowerCase());
}

// Build args BuildKit consumes itself: passing them never earns an "unused build-arg" warning.
const BUILTIN_ARGS = new Set([
  'BUILDKIT_BUILD_NAME',
  'BUILDKIT_CACHE_MOUNT_NS',
  'BUILDKIT_CONTEXT_KEEP_GIT_DIR',
  'BUILDKIT_INLINE_CACHE',
  'BUILDKIT_MULTI_PLATFORM',
  'BUILDKIT_SANDBOX_HOSTNAME',
  'BUILDKIT_SYNTAX',
  'BUILDKIT_DOCKERFILE_CHECK',
  'SOURCE_DATE_EPOCH',
]);

export function isBuiltinArg(name: string): boolean {
  return BUILTIN_ARGS.has(name) || isProxyArg(name);
}

/**
 * An ordered environment (`K=V` list semantics): setting an existing key replaces it in place,
 * a new key is appended. This is how both the image config Env and BuildKit's state env behave.
 */
export class EnvList implements VarLookup {
  // Insertion order lives in `entries`; `index` makes get/set O(1) (Dockerfiles with
  // thousands of ENV lines must not plan in quadratic time).
  private readonly entries: Array<[string, string]> = [];
  private readonly index = new Map<string, number>();

  constructor(entries: Iterable<[string, string]> = []) {
    for (const [k, v] of entries) this.set(k, v);
  }

  static fromList(list: readonly string[] | undefined | null): EnvList {
    const env = new EnvList();
    for (const kv of list ?? []) {
      const i = kv.indexOf('=');
      env.set(i < 0 ? kv : kv.slice(0, i), i < 0 ? '' : kv.slice(i + 1));
    }
    return env;
  }

  get(name: string): string | undefined {
    const i = this.index.get(name);
    return i === undefined ? undefined : this.entries[i]![1];
  }

  has(name: string): boolean {
    return this.index.has(name);
  }

  set(name: string, value: string): void {
    const i = this.index.get(name);
    if (i !== undefined) this.entries[i]![1] = value;
    else {
      this.index.set(name, this.entries.length);
      this.entries.push([name, value]);
    }
  }

  clone(): EnvList {
    return new EnvList(this.entries);
  }

  toList(): string[] {
    return this.entries.map(([k, v]) => `${k}=${v}`);
  }
}
