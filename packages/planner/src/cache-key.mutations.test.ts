import { describe, expect, it } from 'vitest';
import { DEFAULT_IMAGES, MemContext, MemRegistry, planText } from './test-support.ts';
import type { MemFile, TestPlanOptions } from './test-support.ts';
import type { Plan } from './types.ts';

// One base build and many single mutations; each case lists exactly the steps whose keys must
// change. Every other step of the base plan must keep its key (so "stays" is asserted too).
const BASE = `ARG BASE=busybox
FROM \${BASE} AS deps
ARG VERSION=1
WORKDIR /src
COPY pkg/ ./pkg/
RUN echo deps $VERSION

FROM busybox AS tools
RUN echo tools

FROM alpine AS app
ARG MODE
ENV A=1 B=2
COPY --from=deps /src/pkg /app/pkg
COPY app/ /app/
RUN --mount=type=cache,target=/root/.cache echo build
HEALTHCHECK --interval=30s CMD true
USER nobody
CMD ["run"]
`;

const FILES: Record<string, MemFile> = {
  'pkg/a.txt': { content: 'a' },
  'pkg/b.txt': { content: 'b' },
  'app/main.js': { content: 'main' },
  'app/lib/x.js': { content: 'x' },
  'app/node_modules/m.js': { content: 'm' },
  'docs/readme.md': { content: 'docs' },
};
const IGNORE = ['app/node_modules'];

// Short names for the base plan's steps.
const S = {
  argVersion: 'deps:ARG VERSION=1',
  workdir: 'deps:WORKDIR /src',
  copyPkg: 'deps:COPY pkg/ ./pkg/',
  runDeps: 'deps:RUN echo deps $VERSION',
  argMode: 'app:ARG MODE',
  env: 'app:ENV A=1 B=2',
  copyFrom: 'app:COPY --from=deps /src/pkg /app/pkg',
  copyApp: 'app:COPY app/ /app/',
  runBuild: 'app:RUN --mount=type=cache,target=/root/.cache echo build',
  health: 'app:HEALTHCHECK --interval=30s CMD true',
  user: 'app:USER nobody',
  cmd: 'app:CMD ["run"]',
};
const ALL = Object.values(S);
const from = (first: string): string[] => ALL.slice(ALL.indexOf(first));
const DEPS_ALL = [S.argVersion, S.workdir, S.copyPkg, S.runDeps];
const APP_FROM_COPY = from(S.copyFrom);

interface Mutation {
  name: string;
  text?: (t: string) => string;
  files?: (f: Record<string, MemFile>) => void;
  opts?: TestPlanOptions;
  images?: (i: MemRegistry['images']) => void;
  changed: string[];
}

const replace = (a: string, b: string) => (t: string) => {
  if (!t.includes(a)) throw new Error(`mutation does not apply: ${a}`);
  return t.replace(a, b);
};

const MUTATIONS: Mutation[] = [
  { name: 'one byte in a file copied by the used stage', files: (f) => void (f['pkg/a.txt']!.content = 'A'), changed: [S.copyPkg, S.runDeps, ...APP_FROM_COPY] },
  { name: 'one byte in a file copied by the target', files: (f) => void (f['app/main.js']!.content = 'mainn'), changed: from(S.copyApp) },
  { name: 'chmod of a copied file', files: (f) => void (f['app/main.js']!.mode = 0o755), changed: from(S.copyApp) },
  { name: 'chmod of a file in the other stage', files: (f) => void (f['pkg/b.txt']!.mode = 0o600), changed: [S.copyPkg, S.runDeps, ...APP_FROM_COPY] },
  { name: 'uid of a copied file', files: (f) => void (f['app/lib/x.js']!.uid = 1000), changed: from(S.copyApp) },
  { name: 'new file in a copied dir', files: (f) => void (f['app/new.js'] = { content: 'n' }), changed: from(S.copyApp) },
  { name: 'new file in an ignored dir', files: (f) => void (f['app/node_modules/z.js'] = { content: 'z' }), changed: [] },
  { name: 'new file in a dir nothing copies', files: (f) => void (f['docs/new.md'] = { content: 'n' }), changed: [] },
  { name: 'deleted file nothing copies', files: (f) => void delete f['docs/readme.md'], changed: [] },
  { name: 'symlink added to a copied dir', files: (f) => void (f['app/link'] = { content: '', link: 'main.js' }), changed: from(S.copyApp) },
  { name: 'symlink target changed', files: (f) => void (f['app/lib/x.js'] = { content: '', link: 'a' }), changed: from(S.copyApp) },
  { name: 'file renamed, same bytes', files: (f) => { f['pkg/c.txt'] = f['pkg/a.txt']!; delete f['pkg/a.txt']; }, changed: [S.copyPkg, S.runDeps, ...APP_FROM_COPY] },
  { name: 'unused build-arg', opts: { buildArgs: { UNUSED: '1' } }, changed: [] },
  { name: 'build-arg used by a RUN of another stage', opts: { buildArgs: { VERSION: '2' } }, changed: [S.runDeps, ...APP_FROM_COPY] },
  { name: 'build-arg equal to the default', opts: { buildArgs: { VERSION: '1' } }, changed: [] },
  { name: 'build-arg declared without default in the target', opts: { buildArgs: { MODE: 'prod' } }, changed: from(S.runBuild) },
  { name: 'global build-arg equal to its default', opts: { buildArgs: { BASE: 'busybox' } }, changed: [] },
  { name: 'global build-arg picking another base', opts: { buildArgs: { BASE: 'alpine' } }, changed: [...DEPS_ALL, ...APP_FROM_COPY] },
  { name: 'proxy build-arg', opts: { buildArgs: { HTTP_PROXY: 'http://proxy:3128', no_proxy: 'x' } }, changed: [] },
  { name: 'changed digest of the target base image', images: (i) => void (i.alpine!.salt = 'repushed'), changed: from(S.argMode) },
  { name: 'changed digest of the used stage base image', images: (i) => void (i.busybox!.salt = 'repushed'), changed: [...DEPS_ALL, ...APP_FROM_COPY] },
  { name: 'HEALTHCHECK interval', text: replace('--interval=30s', '--interval=31s'), changed: from(S.health) },
  { name: 'HEALTHCHECK retries added', text: replace('HEALTHCHECK --interval=30s', 'HEALTHCHECK --retries=3 --interval=30s'), changed: from(S.health) },
  { name: 'HEALTHCHECK command', text: replace('CMD true', 'CMD false'), changed: from(S.health) },
  { name: 'COPY --chown', text: replace('COPY app/ /app/', 'COPY --chown=1000:1000 app/ /app/'), changed: from(S.copyApp) },
  { name: 'COPY --chmod', text: replace('COPY app/ /app/', 'COPY --chmod=0755 app/ /app/'), changed: from(S.copyApp) },
  { name: 'COPY --link', text: replace('COPY app/ /app/', 'COPY --link app/ /app/'), changed: from(S.copyApp) },
  { name: 'COPY --exclude', text: replace('COPY app/ /app/', 'COPY --exclude=*.md app/ /app/'), changed: from(S.copyApp) },
  { name: 'COPY destination', text: replace('COPY app/ /app/', 'COPY app/ /srv/'), changed: from(S.copyApp) },
  { name: 'reordered ENV pairs', text: replace('ENV A=1 B=2', 'ENV B=2 A=1'), changed: from(S.env) },
  { name: 'ENV value', text: replace('ENV A=1 B=2', 'ENV A=3 B=2'), changed: from(S.env) },
  { name: 'change in a stage the target does not use', text: replace('RUN echo tools', 'RUN echo tools v2'), changed: [] },
  { name: 'new stage the target does not use', text: (t) => `${t}\nFROM busybox AS extra\nRUN echo extra\n`, opts: { target: 'app' }, changed: [] },
  { name: 'comment line added', text: replace('FROM alpine AS app', '# the app\nFROM alpine AS app'), changed: [] },
  { name: 'CMD', text: replace('CMD ["run"]', 'CMD ["serve"]'), changed: [S.cmd] },
  { name: 'CMD exec form to shell form', text: replace('CMD ["run"]', 'CMD run'), changed: [S.cmd] },
  { name: 'USER', text: replace('USER nobody', 'USER root'), changed: [S.user, S.cmd] },
  { name: 'WORKDIR of the used stage', text: replace('WORKDIR /src', 'WORKDIR /src2'), changed: [S.workdir, S.copyPkg, S.runDeps, ...APP_FROM_COPY] },
  { name: 'RUN --network', text: replace('RUN --mount', 'RUN --network=none --mount'), changed: from(S.runBuild) },
  { name: 'cache mount id (never keyed)', text: replace('type=cache,target', 'type=cache,id=mine,target'), changed: [] },
  { name: 'cache mount sharing (never keyed)', text: replace('type=cache,target=/root/.cache', 'type=cache,target=/root/.cache,sharing=locked'), changed: [] },
  { name: 'cache mount target', text: replace('target=/root/.cache', 'target=/root/.npm'), changed: from(S.runBuild) },
  { name: 'cache mount mode', text: replace('target=/root/.cache', 'target=/root/.cache,mode=0777'), changed: from(S.runBuild) },
  { name: 'secret mount added', text: replace('RUN --mount', 'RUN --mount=type=secret,id=tok --mount'), changed: from(S.runBuild) },
  { name: 'ARG default in the target', text: replace('ARG MODE', 'ARG MODE=dev'), changed: from(S.argMode) },
  { name: 'ONBUILD instead of USER (CVE-2024-24557 shape)', text: replace('USER nobody', 'ONBUILD RUN nobody'), changed: [S.user, S.cmd] },
  { name: 'HEALTHCHECK NONE', text: replace('HEALTHCHECK --interval=30s CMD true', 'HEALTHCHECK NONE'), changed: from(S.health) },
  { name: 'base image pinned by another digest for the same tag', images: (i) => void (i.alpine!.digest = 'sha256:' + 'e'.repeat(64)), changed: from(S.argMode) },
  { name: '--label on the command line', opts: { labels: { 'org.example': 'x' } }, changed: [] },
  { name: '--no-cache', opts: { noCache: true }, changed: [] },
  { name: 'build platform (not referenced)', opts: { buildPlatform: { os: 'linux', architecture: 'arm64' } }, changed: [] },
  { name: 'target platform', opts: { platform: { os: 'linux', architecture: 'arm64' } }, changed: ALL },
  { name: 'escaped variable in RUN text', text: replace('RUN echo deps $VERSION', 'RUN echo deps ${VERSION}'), changed: [S.runDeps, ...APP_FROM_COPY] },
];

function labels(plan: Plan): Map<string, string> {
  const names = new Map(plan.stages.map((s) => [s.index, s.name ?? String(s.index)]));
  return new Map(plan.steps.map((s) => [s.id, `${names.get(s.stage)}:${s.text}`]));
}

// Steps are matched by id (stage index and position), so a mutation may rewrite a step's text.
function keysById(plan: Plan): Map<string, string> {
  return new Map(plan.steps.map((s) => [s.id, s.cacheKey]));
}

async function build(m?: Mutation): Promise<Plan> {
  const files = structuredClone(FILES);
  const images = structuredClone(DEFAULT_IMAGES);
  m?.files?.(files);
  m?.images?.(images);
  const text = m?.text ? m.text(BASE) : BASE;
  return planText(text, { ctx: new MemContext(files, IGNORE), registry: new MemRegistry(images), ...m?.opts });
}

describe('cache key mutations', () => {
  it('the base plan has the expected steps (tools stage pruned)', async () => {
    const p = await build();
    expect([...labels(p).values()]).toEqual(ALL);
  });

  it(`covers at least 40 mutations (${MUTATIONS.length})`, () => {
    expect(MUTATIONS.length).toBeGreaterThanOrEqual(40);
  });

  it.each(MUTATIONS.map((m) => [m.name, m] as const))('%s', async (_name, m) => {
    const base = await build();
    const before = keysById(base);
    const after = keysById(await build(m));
    const changed = [...labels(base)].filter(([id]) => after.get(id) !== before.get(id)).map(([, label]) => label);
    expect(changed).toEqual(m.changed);
  });
});
