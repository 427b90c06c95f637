import fs from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { BuildError } from '@tbuild/errors';
import { BuildContext, loadIgnoreFile } from '@tbuild/context';
import type { BuildEvent } from '@tbuild/executor';
import { build, type BuildOptions, type BuildResult } from './build.ts';
import { resolveBakeFile, type BakeTarget } from './bake-file.ts';
import { parseEntitlements, parseExtraHosts, parseSecretSpecs, parseSshSpecs } from './run-inputs.ts';
import { openStore } from './store.ts';
import { defaultJobs } from './jobs.ts';
import { contextMemo } from './prepare.ts';

export interface BakeOptions {
  /** Bake file path (default `docker-bake.json` in `cwd`). */
  file?: string;
  /** Targets or groups; default the `default` group, else every target. */
  targets?: string[];
  cwd: string;
  root: string;
  jobs?: number;
  noCache?: boolean;
  push?: boolean;
  /** Events of every target, each step's stage prefixed with the target name (`api/build`). */
  onEvent?: (e: BuildEvent, target: string) => void;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Applied to every target (e.g. the CLI's --build-arg / --set equivalents). */
  overrides?: Partial<Pick<BuildOptions, 'pull' | 'insecureRegistries' | 'runtime'>>;
}

export interface BakeResult {
  targets: Array<{ name: string; result: BuildResult }>;
}

/**
 * Builds every target of a bake file at once on one store: a single bound on concurrent steps
 * for all of them, identical steps (a shared base stage) run once, and each distinct context
 * directory is opened and hashed once however many targets use it.
 */
export async function bake(opts: BakeOptions): Promise<BakeResult> {
  const file = path.resolve(opts.cwd, opts.file ?? 'docker-bake.json');
  const shown = path.relative(opts.cwd, file) || file;
  const text = await fs.readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new BuildError({
      code: 'TB_BAKE_FILE',
      message: `cannot read bake file ${shown}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`,
      hint: 'pass it with -f, e.g. tbuild bake -f docker-bake.json',
    });
  });
  const base = path.dirname(file);
  const refuse = (target: string) => (message: string, hint: string) => new BuildError({ code: 'TB_BAKE_INVALID', message: `${shown}: target "${target}": ${message}`, hint });
  const targets = resolveBakeFile(text, shown, opts.targets ?? []);
  const store = await openStore(opts.root);
  const contexts = new Map<string, Promise<BuildContext>>();
  const contextFor = (t: BakeTarget): Promise<BuildContext> => {
    const dir = path.resolve(base, t.context);
    const dockerfile = path.resolve(dir, t.dockerfile);
    const key = `${dir}\n${dockerfile}`;
    let c = contexts.get(key);
    if (!c) {
      c = loadIgnoreFile(dir, dockerfile).then((ignore) => BuildContext.open(dir, { ignore, memo: contextMemo() }));
      contexts.set(key, c);
    }
    return c;
  };
  const jobs = opts.jobs ?? defaultJobs();
  const limiter = pLimit(Math.max(1, jobs));
  const shared = { limit: <T>(fn: () => Promise<T>): Promise<T> => limiter(fn), inflight: new Map<string, Promise<unknown>>() };
  try {
    const results = await Promise.all(
      targets.map(async (t) => {
        const dir = path.resolve(base, t.context);
        const result = await build({
          ...opts.overrides,
          context: dir,
          dockerfile: path.resolve(dir, t.dockerfile),
          tags: t.tags,
          buildArgs: t.args,
          target: t.target,
          labels: t.labels,
          noCache: opts.noCache || t.noCache,
          noCacheFilter: t.noCacheFilter,
          ...(t.network ? { network: t.network } : {}),
          ...(t.dockerfileInline !== undefined ? { dockerfileText: t.dockerfileInline } : {}),
          secrets: parseSecretSpecs(t.secrets, base, refuse(t.name)),
          ssh: parseSshSpecs(t.ssh, base, opts.env ?? process.env, refuse(t.name)),
          allow: parseEntitlements(t.entitlements, refuse(t.name)),
          addHosts: parseExtraHosts(t.extraHosts, refuse(t.name)),
          buildContexts: Object.fromEntries(Object.entries(t.contexts).map(([n, v]) => [n, v.includes('://') ? v : path.resolve(base, v)])),
          outputs: t.outputs,
          cacheFrom: t.cacheFrom,
          cacheTo: t.cacheTo,
          push: opts.push,
          root: opts.root,
          store,
          buildContext: await contextFor(t),
          jobs,
          shared,
          signal: opts.signal,
          env: opts.env,
          onEvent: opts.onEvent && ((e) => opts.onEvent!(prefixEvent(e, t.name), t.name)),
        });
        return { name: t.name, result };
      }),
    );
    return { targets: results };
  } finally {
    for (const c of contexts.values()) await (await c.catch(() => undefined))?.close();
  }
}

function prefixEvent(e: BuildEvent, target: string): BuildEvent {
  if ('step' in e) return { ...e, step: { ...e.step, id: `${target}/${e.step.id}`, stage: `${target}/${e.step.stage}` } } as BuildEvent;
  return e;
}
