import { digestOf } from './canonical.ts';
import { formatPlatform } from './platform.ts';
import { isProxyArg } from './args.ts';
import type { ContainerConfig, CopySpec, HistoryEntry, Platform, RunMount, RunSpec, StepKind, WorkdirSpec } from './types.ts';

/**
 * Version salt of every key. Bump it whenever the encoding or the meaning of a field changes:
 * old cache entries then simply stop matching instead of being served for different inputs.
 * `cache-key.pinned.test.ts` fails on any change made without a bump. See docs/cache-key.md.
 */
export const KEY_VERSION = 'tbuild-key-v1';

/** A source's content identity as it enters a key: never a stage index (renumbering must not matter). */
export type KeyedSource =
  | { kind: 'context'; digest: string }
  | { kind: 'stage'; key: string }
  | { kind: 'image'; digest: string; platform: string };

/** Root of a stage built on an image: the manifest digest pins every byte of the base, the platform which manifest. */
export function imageRootKey(digest: string, platform: Platform): string {
  return digestOf({ v: KEY_VERSION, kind: 'image', digest, platform: formatPlatform(platform) });
}

export function scratchRootKey(platform: Platform): string {
  return digestOf({ v: KEY_VERSION, kind: 'scratch', platform: formatPlatform(platform) });
}

export interface StepKey {
  cacheKey: string;
  keyInputs: Record<string, unknown>;
}

/** key = sha256(canonical({v, kind, parent, op})); the parent chain makes a key cover every earlier step. */
export function stepKey(kind: StepKind, parent: string, op: Record<string, unknown>): StepKey {
  const keyInputs = { v: KEY_VERSION, kind, parent, op };
  return { cacheKey: digestOf(keyInputs), keyInputs };
}

// Proxy settings change where bytes come from, not what they are (BuildKit strips ProxyEnv).
function keyEnv(env: string[]): string[] {
  return env
    .filter((kv) => {
      const i = kv.indexOf('=');
      return !isProxyArg(i < 0 ? kv : kv.slice(0, i));
    })
    .sort(codeUnitCompare);
}

export function codeUnitCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function keyMount(m: RunMount, source: KeyedSource | undefined): Record<string, unknown> {
  switch (m.type) {
    case 'bind':
      return { type: m.type, target: m.target, source: m.source, readonly: m.readonly, from: source };
    case 'cache':
      // id and sharing are left out like BuildKit (commit 584ec4008): which cache a step uses
      // must not decide whether it re-runs. Cache contents never enter a key.
      return { type: m.type, target: m.target, readonly: m.readonly, mode: m.mode, uid: m.uid, gid: m.gid, source: m.source, from: source };
    case 'tmpfs':
      return { type: m.type, target: m.target, size: m.size };
    case 'secret':
      // The id names the secret; its value is deliberately absent (never hashed, never stored).
      return { type: m.type, id: m.id, target: m.target, env: m.env, required: m.required, mode: m.mode, uid: m.uid, gid: m.gid };
    case 'ssh':
      return { type: m.type, id: m.id, target: m.target, required: m.required, mode: m.mode, uid: m.uid, gid: m.gid };
  }
}

/** RUN: everything that can change the process's output; mount sources by content identity. */
export function runOp(spec: RunSpec, mountSources: Array<KeyedSource | undefined>): Record<string, unknown> {
  return {
    args: spec.args,
    form: spec.form,
    env: keyEnv(spec.env),
    user: spec.user,
    workdir: spec.workdir,
    network: spec.network,
    security: spec.security,
    mounts: spec.mounts.map((m, i) => keyMount(m, mountSources[i])),
    files: spec.files.map((f) => ({ path: f.path, content: f.content, mode: f.mode })),
    // Only when set: keys of builds without --add-host stay as they were.
    ...(spec.extraHosts ? { extraHosts: spec.extraHosts.map((h) => `${h.host}=${h.ip}`) } : {}),
  };
}

/** COPY/ADD: every flag plus the content identity of the source (context digest, stage key or image digest). */
export function copyOp(spec: CopySpec, source: KeyedSource | undefined): Record<string, unknown> {
  return {
    sources: spec.sources,
    urls: spec.urls,
    inline: spec.inline.map((f) => ({ path: f.path, content: f.content, mode: f.mode })),
    dest: spec.dest,
    chown: spec.chown,
    chmod: spec.chmod,
    link: spec.link,
    parents: spec.parents,
    excludes: spec.excludes,
    checksum: spec.checksum,
    keepGitDir: spec.keepGitDir,
    unpack: spec.unpack,
    from: source,
  };
}

export function workdirOp(spec: WorkdirSpec): Record<string, unknown> {
  return { path: spec.path, user: spec.user, mkdir: spec.mkdir };
}

/**
 * Config-only steps key on the config they produce, not on their text alone: a cache entry
 * must never hand back a config other than the one this build computes (CVE-2024-24557).
 */
export function configOp(instruction: string, config: ContainerConfig, author: string | undefined, history: HistoryEntry | undefined): Record<string, unknown> {
  return { instruction, config: stripUndefined(config), author, history: history ? stripUndefined(history) : undefined };
}

function stripUndefined<T extends object>(o: T): Record<string, unknown> {
  return JSON.parse(JSON.stringify(o)) as Record<string, unknown>;
}
