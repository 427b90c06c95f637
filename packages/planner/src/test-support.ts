// In-memory implementations of the planner's two I/O interfaces, for tests only (not exported).
import { createHash } from 'node:crypto';
import { BuildError } from '@tbuild/errors';
import { parseDockerfile } from '@tbuild/parser';
import { formatPlatform } from './platform.ts';
import { plan } from './plan.ts';
import type { ContextHasher, ContextSelection, ImageConfig, ImageResolver, Plan, PlanInput, Platform, ResolvedImage } from './types.ts';

export interface MemFile {
  content: string;
  mode?: number;
  uid?: number;
  gid?: number;
  /** Symlink target: makes this a symlink. */
  link?: string;
}

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (const c of glob) re += c === '*' ? '[^/]*' : c === '?' ? '[^/]' : /[\\^$.|+()[\]{}]/.test(c) ? `\\${c}` : c;
  return new RegExp(`^${re}$`);
}

/**
 * A build context held in a map (`path -> file`). `ignore` lists path prefixes hidden as a
 * `.dockerignore` would. Selection: a literal path selects the file or everything below the
 * directory; `*`/`?` match within one path component; a literal that selects nothing fails.
 */
export class MemContext implements ContextHasher {
  readonly calls: ContextSelection[] = [];

  constructor(
    public files: Record<string, MemFile>,
    public ignore: string[] = [],
  ) {}

  private visible(): string[] {
    return Object.keys(this.files)
      .filter((p) => !this.ignore.some((i) => p === i || p.startsWith(`${i}/`)))
      .sort();
  }

  async digest(sel: ContextSelection): Promise<string> {
    this.calls.push(structuredClone(sel));
    const all = this.visible();
    const chosen = new Set<string>();
    for (const src of sel.sources) {
      const s = src.replace(/^\.\/?/, '').replace(/\/$/, '');
      const hits =
        s === ''
          ? all
          : /[*?]/.test(s)
            ? all.filter((p) => globToRegExp(s).test(p))
            : all.filter((p) => p === s || p.startsWith(`${s}/`));
      if (hits.length === 0 && !/[*?]/.test(s)) {
        throw new BuildError({ code: 'TB_CONTEXT_NOT_FOUND', message: `failed to compute cache key: "/${s}": not found` });
      }
      for (const h of hits) chosen.add(h);
    }
    const excluded = sel.excludes.map(globToRegExp);
    const files = [...chosen]
      .filter((p) => !excluded.some((r) => r.test(p) || r.test(p.split('/').pop()!)))
      .sort()
      .map((path) => {
        const f = this.files[path]!;
        const meta = `${f.link === undefined ? 'file' : 'symlink'}|${f.mode ?? 0o644}|${f.uid ?? 0}|${f.gid ?? 0}|${f.link ?? ''}`;
        return { path, digest: `sha256:${sha(`${meta}|${f.content}`)}` };
      });
    return `sha256:${sha(files.map((f) => `${f.path}\u0000${f.digest}`).join('\n'))}`;
  }
}

/** Images by reference; the digest depends on ref, platform and `salt` (bump it to "re-push" an image). */
export class MemRegistry implements ImageResolver {
  readonly calls: string[] = [];

  constructor(public images: Record<string, { config?: Partial<ImageConfig>; salt?: string; digest?: string }>) {}

  async resolve(ref: string, platform: Platform): Promise<ResolvedImage> {
    this.calls.push(`${ref} ${formatPlatform(platform)}`);
    const img = this.images[ref];
    if (!img) throw new BuildError({ code: 'TB_REGISTRY_NOT_FOUND', message: `image "${ref}" not found` });
    const config: ImageConfig = {
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      rootfs: { type: 'layers', diff_ids: [`sha256:${sha(`layer ${ref}`)}`] },
      history: [{ created_by: `base ${ref}` }],
      ...structuredClone(img.config ?? {}),
    };
    const digest = img.digest ?? `sha256:${sha(`${ref}|${formatPlatform(platform)}|${img.salt ?? ''}`)}`;
    return { ref: ref.includes('/') ? ref : `docker.io/library/${ref}`, digest, config };
  }
}

export const LINUX_AMD64: Platform = { os: 'linux', architecture: 'amd64' };

export interface TestPlanOptions extends Partial<Omit<PlanInput, 'dockerfile' | 'file' | 'resolver' | 'context'>> {
  files?: Record<string, MemFile>;
  ignore?: string[];
  images?: MemRegistry['images'];
  registry?: MemRegistry;
  ctx?: MemContext;
}

export const DEFAULT_IMAGES: MemRegistry['images'] = {
  busybox: { config: { config: { Env: ['PATH=/bin:/usr/bin'], Cmd: ['sh'] } } },
  alpine: { config: { config: { Env: ['PATH=/usr/local/bin:/usr/bin:/bin'], Cmd: ['/bin/sh'] } } },
};

/** Parses and plans `text` against in-memory images and context. */
export async function planText(text: string, opts: TestPlanOptions = {}): Promise<Plan> {
  const dockerfile = parseDockerfile(text);
  return plan({
    dockerfile,
    file: { path: 'Dockerfile', text },
    buildArgs: opts.buildArgs ?? {},
    platform: opts.platform ?? LINUX_AMD64,
    buildPlatform: opts.buildPlatform ?? LINUX_AMD64,
    resolver: opts.registry ?? new MemRegistry(opts.images ?? DEFAULT_IMAGES),
    context: opts.ctx ?? new MemContext(opts.files ?? {}, opts.ignore ?? []),
    ...(opts.target !== undefined ? { target: opts.target } : {}),
    ...(opts.labels ? { labels: opts.labels } : {}),
    ...(opts.noCache !== undefined ? { noCache: opts.noCache } : {}),
    ...(opts.noCacheFilter ? { noCacheFilter: opts.noCacheFilter } : {}),
    ...(opts.secrets ? { secrets: opts.secrets } : {}),
    ...(opts.entitlements ? { entitlements: opts.entitlements } : {}),
    ...(opts.extraHosts ? { extraHosts: opts.extraHosts } : {}),
    ...(opts.namedContexts ? { namedContexts: opts.namedContexts } : {}),
  });
}

/** Runs `fn` and returns the BuildError it throws (fails the test when it does not). */
export async function planError(fn: () => Promise<unknown>): Promise<BuildError> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof BuildError) return e;
    throw e;
  }
  throw new Error('expected a BuildError');
}
