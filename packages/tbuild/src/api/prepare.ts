import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { BuildError, type SourceFile } from '@tbuild/errors';
import type { Dockerfile } from '@tbuild/parser';
import { plan as makePlan, type Plan } from '@tbuild/planner';
import { BuildContext, ContextMemo, loadIgnoreFile } from '@tbuild/context';
import type { Store } from '@tbuild/cache';
import { createImageResolver, parsePlatform, hostPlatform, formatPlatform, RegistryClient, type Platform } from '@tbuild/registry';
import type { BuildOptions } from './build.ts';
import { parseMemoized } from './parse-memo.ts';
import { openStore } from './store.ts';

/** What planning a build sets up; `build` runs it, `plan` and `cache why` only look at it. */
export interface PreparedBuild {
  store: Store;
  client: RegistryClient;
  context: BuildContext;
  contextDir: string;
  /** `--build-context` directories by name (lower case). */
  namedContexts: Map<string, BuildContext>;
  file: SourceFile;
  plan: Plan;
}

/** A regular file is read at once; a pipe (`-f <(…)`) without holding up the event loop. */
async function readDockerfile(file: string): Promise<string> {
  return fsSync.statSync(file).isFile() ? fsSync.readFileSync(file, 'utf8') : fs.readFile(file, 'utf8');
}

/** Reads the Dockerfile, opens the store and the context, resolves base images and plans. */
export async function prepareBuild(opts: BuildOptions): Promise<PreparedBuild> {
  const contextDir = path.resolve(opts.context);
  // The Dockerfile and the context are looked at synchronously, as the store reads its records
  // (@tbuild/cache, fs-util.ts): each asynchronous call is a trip through Node.js's thread pool.
  let ctxStat: fsSync.Stats | undefined;
  try {
    ctxStat = fsSync.statSync(contextDir);
  } catch {
    /* reported below */
  }
  if (!ctxStat?.isDirectory()) {
    throw new BuildError({ code: 'TB_CLI_CONTEXT', message: `build context "${opts.context}" is not a directory`, hint: 'pass the directory that holds your sources, e.g. `tbuild -t app .`' });
  }
  const dockerfilePath = opts.dockerfileText !== undefined ? undefined : path.resolve(opts.dockerfile ?? path.join(contextDir, 'Dockerfile'));
  // Errors name the Dockerfile as the user would: relative to where they stand, unless that climbs out.
  const relative = dockerfilePath ? path.relative(opts.cwd ?? process.cwd(), dockerfilePath) : 'Dockerfile';
  const shownPath = relative.startsWith('..') ? dockerfilePath! : relative || 'Dockerfile';
  const text =
    opts.dockerfileText ??
    (await readDockerfile(dockerfilePath!).catch((e: NodeJS.ErrnoException) => {
      throw new BuildError({
        code: 'TB_CLI_DOCKERFILE',
        message: `cannot read Dockerfile ${shownPath}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`,
        hint: 'pass its path with -f, or `-f -` to read it from stdin',
      });
    }));
  const file: SourceFile = { path: shownPath, text };

  const host = hostPlatform();
  const platform = opts.platform ? parsePlatform(opts.platform) : host;
  if (formatPlatform(platform) !== formatPlatform(host)) {
    throw new BuildError({
      code: 'TB_CLI_PLATFORM',
      message: `cannot build for ${formatPlatform(platform)} on ${formatPlatform(host)}: cross-platform builds are not supported yet`,
      hint: `omit --platform, or pass --platform ${formatPlatform(host)}`,
    });
  }

  const store = opts.store ?? (await openStore(opts.root));
  const dockerfile = await parseMemoized(store, hashPath(dockerfilePath ?? '-'), text, shownPath);
  return prepareWithStore(opts, { contextDir, dockerfilePath, file, dockerfile, platform, host, store });
}

/**
 * What each build read of its context, for the next build of it in this process: the builds of
 * a build server, or of a script using this API, skip re-reading unchanged files.
 */
let memo: ContextMemo | undefined = new ContextMemo();

/** The memo builds in this process share; none once the process said it builds only once. */
export function contextMemo(): ContextMemo | undefined {
  return memo;
}

/**
 * This process runs one build and exits (the CLI's own build command): keeping what the build
 * read, ~20 ms for a 20,000-file context, would be for no later build.
 */
export function buildsOnce(): void {
  memo = undefined;
}

/** `tbuild-scan`, where the CLI has it (dist/, beside the bundle); run from sources there is none. */
let scanner: string | undefined;

/** Reads build contexts with `tbuild-scan` at `path` (native/scan.c in @tbuild/context), when one is large enough to gain from it. */
export function useContextScanner(path: string): void {
  scanner = path;
}

async function prepareWithStore(
  opts: BuildOptions,
  { contextDir, dockerfilePath, file, dockerfile, platform, host, store }: { contextDir: string; dockerfilePath: string | undefined; file: SourceFile; dockerfile: Dockerfile; platform: Platform; host: Platform; store: Store },
): Promise<PreparedBuild> {
  const client = new RegistryClient({ insecureRegistries: opts.insecureRegistries });
  const resolver = createImageResolver({ store, client, pull: opts.pull });
  const statCacheName = `statcache-${hashPath(contextDir)}`;
  const context =
    opts.buildContext ??
    (await BuildContext.open(contextDir, {
      ignore: await loadIgnoreFile(contextDir, dockerfilePath),
      memo: contextMemo(),
      ...(scanner ? { scanner: { path: scanner } } : {}),
      statCache: { load: () => store.readMeta(statCacheName), save: (b) => store.writeMeta(statCacheName, b) },
    }));

  const named = await openNamedContexts(opts.buildContexts ?? {}, opts.cwd ?? process.cwd());
  const namedContexts = new Map([...named].flatMap(([n, c]) => (c instanceof BuildContext ? [[n, c] as const] : [])));
  const plan = await makePlan({
    dockerfile,
    file,
    buildArgs: opts.buildArgs ?? {},
    target: opts.target,
    platform,
    buildPlatform: host,
    labels: opts.labels,
    noCache: opts.noCache,
    noCacheFilter: opts.noCacheFilter,
    resolver: { resolve: (ref, p) => resolver.resolve(ref, p) },
    context,
    secrets: (opts.secrets ?? []).map((s) => s.id),
    entitlements: [...(opts.allow ?? []), ...(opts.network === 'host' ? ['network.host'] : [])],
    ...(opts.addHosts?.length ? { extraHosts: opts.addHosts } : {}),
    ...(named.size ? { namedContexts: Object.fromEntries([...named].map(([n, c]) => [n, c instanceof BuildContext ? { kind: 'local' as const, context: c } : c])) } : {}),
  });
  return { store, client, context, contextDir, namedContexts, file, plan };
}

/**
 * `--build-context NAME=VALUE`, as buildx takes it: `docker-image://REF` stands in for the image
 * or stage NAME; anything else is a directory (relative to `cwd`) read like the main context,
 * its own .dockerignore applied.
 */
async function openNamedContexts(values: Record<string, string>, cwd: string): Promise<Map<string, BuildContext | { kind: 'image'; ref: string }>> {
  const out = new Map<string, BuildContext | { kind: 'image'; ref: string }>();
  for (const [name, value] of Object.entries(values)) {
    const key = name.toLowerCase();
    if (value.startsWith('docker-image://')) {
      out.set(key, { kind: 'image', ref: value.slice('docker-image://'.length) });
      continue;
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
      throw new BuildError({ code: 'TB_CLI_BUILD_CONTEXT', message: `build context "${name}": "${value}" is not supported`, hint: 'use a directory or docker-image://REF' });
    }
    const dir = path.resolve(cwd, value);
    if (!(await fs.stat(dir).catch(() => undefined))?.isDirectory()) {
      throw new BuildError({ code: 'TB_CLI_BUILD_CONTEXT', message: `build context "${name}": ${value} is not a directory`, hint: 'pass NAME=DIR or NAME=docker-image://REF' });
    }
    out.set(key, await BuildContext.open(dir, { ignore: await loadIgnoreFile(dir, undefined) }));
  }
  return out;
}

// Names what the store keeps per directory or file: a context's stat cache, a Dockerfile's syntax tree.
function hashPath(p: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < p.length; i++) h = Math.imul(h ^ p.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}
