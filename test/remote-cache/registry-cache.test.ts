import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '@tbuild/cache';
import { RegistryClient, RemoteCache } from '@tbuild/registry';
import { tbuild, type CliRun } from '../support/cli.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';
import { mountsUnder, seededStore } from '../support/seed.ts';
import { haveRegistry, startRegistry, type TestRegistry } from '../support/services.ts';

interface Event {
  type: string;
  step?: { text: string; stage: string };
  layer?: { digest: string };
  status?: string;
  what?: string;
  detail?: string;
}

function events(r: CliRun): Event[] {
  return r.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Event);
}

const started = (r: CliRun): string[] => events(r).filter((e) => e.type === 'step-start').map((e) => e.step!.text);
const cached = (r: CliRun): string[] => events(r).filter((e) => e.type === 'step-cached').map((e) => e.step!.text);
const exportDetail = (r: CliRun): string | undefined => events(r).find((e) => e.type === 'export' && e.status === 'done' && e.what?.startsWith('cache to'))?.detail;

const DOCKERFILE = [
  'FROM busybox AS build',
  'RUN mkdir -p /out && echo built > /out/built.txt',
  'RUN echo second > /out/second.txt',
  '',
  'FROM busybox',
  'WORKDIR /app',
  'COPY app.txt ./',
  'COPY --from=build /out/ /app/out/',
  'RUN cat /app/app.txt /app/out/built.txt > /app/combined',
  'COPY late.txt ./',
  'RUN cat /app/late.txt >> /app/combined',
  'CMD ["cat", "/app/combined"]',
  '',
].join('\n');

function writeContext(dir: string, late: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'Dockerfile'), DOCKERFILE);
  fs.writeFileSync(path.join(dir, 'app.txt'), 'app\n');
  fs.writeFileSync(path.join(dir, 'late.txt'), late);
}

describe.skipIf(!isRoot || !haveRegistry())(`shared cache through a registry on loopback (${NEEDS_ROOT}, docker-registry)`, () => {
  let reg: TestRegistry;
  const work = tempDir('tbuild-remote-cache-');
  const ctx = path.join(work.dir, 'app');
  const cleanups: Array<() => void> = [];
  let runnerA: string;
  let first: CliRun;
  let ref: (tag: string) => string;

  /** A fresh runner: an empty store holding only the base image. */
  const freshRunner = async (): Promise<{ root: string; store: Store }> => {
    const s = await seededStore();
    cleanups.push(s.cleanup);
    return s;
  };
  const build = (root: string, args: string[], context = ctx): Promise<CliRun> => tbuild(['build', '--root', root, '--progress=rawjson', ...args, context]);

  beforeAll(async () => {
    reg = await startRegistry();
    ref = (tag) => `${reg.host}/cache/app:${tag}`;
    runnerA = (await freshRunner()).root;
    writeContext(ctx, 'late v1\n');
    first = await build(runnerA, ['-t', 'app:a', '--iidfile', path.join(work.dir, 'iid-a'), '--cache-to', `type=registry,ref=${ref('max')},mode=max`]);
  });

  afterAll(async () => {
    await reg?.stop();
    for (const c of cleanups) c();
    work.cleanup();
  });

  it('runner B, with an empty store, takes every step from the cache and starts no container', async () => {
    expect(first.code, first.stderr).toBe(0);
    expect(started(first)).toHaveLength(8);
    expect(exportDetail(first)).toMatch(/^8 records, 8 layers: 8 uploaded, 0 already there$/);

    const b = await freshRunner();
    const out = path.join(work.dir, 'rootfs-b');
    const r = await build(b.root, ['-t', 'app:b', '--iidfile', path.join(work.dir, 'iid-b'), '-o', `type=local,dest=${out}`, '--cache-from', `type=registry,ref=${ref('max')}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(started(r)).toEqual([]);
    expect(cached(r)).toContain('RUN cat /app/late.txt >> /app/combined');
    expect(fs.readFileSync(path.join(out, 'app/combined'), 'utf8')).toBe('app\nbuilt\nlate v1\n');
    // Same layers and the original steps' times: the very same image.
    expect(fs.readFileSync(path.join(work.dir, 'iid-b'), 'utf8')).toBe(fs.readFileSync(path.join(work.dir, 'iid-a'), 'utf8'));
    expect(await mountsUnder(b.root)).toEqual([]);

    // Lazy import: the build stage's layers were never needed, so never downloaded.
    const buildStageLayers = events(first)
      .filter((e) => e.type === 'step-done' && e.step?.stage === 'build')
      .map((e) => e.layer!.digest);
    expect(buildStageLayers).toHaveLength(2);
    for (const d of buildStageLayers) expect(await b.store.hasBlob(d)).toBe(false);
    // The final image's six layers were downloaded (blobs only: nothing ran on top of them), once each.
    const pulls = events(r).filter((e) => e.type === 'pull' && (e as { ref?: string }).ref?.startsWith('cache layer'));
    expect(pulls).toHaveLength(6);

    // What was downloaded became local cache: the next build on B needs no remote at all.
    const again = await build(b.root, ['-t', 'app:b2']);
    expect(again.code, again.stderr).toBe(0);
    expect(started(again)).toEqual([]);
  });

  it('pushing the same cache twice uploads no layer the second time', async () => {
    const r = await build(runnerA, ['-t', 'app:a', '--cache-to', `type=registry,ref=${ref('max')},mode=max`]);
    expect(r.code, r.stderr).toBe(0);
    expect(started(r)).toEqual([]);
    expect(exportDetail(r)).toBe('8 records, 8 layers: 0 uploaded, 8 already there');
  });

  it('a fresh runner that imports and re-exports the same cache downloads only what its image needs', async () => {
    const g = await freshRunner();
    const r = await build(g.root, ['-t', 'app:g', '--cache-from', ref('max'), '--cache-to', `type=registry,ref=${ref('max')},mode=max`]);
    expect(r.code, r.stderr).toBe(0);
    expect(started(r)).toEqual([]);
    expect(exportDetail(r)).toBe('8 records, 8 layers: 0 uploaded, 8 already there');
    const buildStageLayers = events(first)
      .filter((e) => e.type === 'step-done' && e.step?.stage === 'build')
      .map((e) => e.layer!.digest);
    for (const d of buildStageLayers) expect(await g.store.hasBlob(d)).toBe(false);
  });

  it('a changed file misses exactly the steps after it', async () => {
    const changed = path.join(work.dir, 'app-changed');
    writeContext(changed, 'late v2\n');
    const c = await freshRunner();
    const out = path.join(work.dir, 'rootfs-c');
    const r = await build(c.root, ['-t', 'app:c', '-o', `type=local,dest=${out}`, '--cache-from', `type=registry,ref=${ref('max')}`], changed);
    expect(r.code, r.stderr).toBe(0);
    expect(started(r)).toEqual(['COPY late.txt ./', 'RUN cat /app/late.txt >> /app/combined']);
    expect(fs.readFileSync(path.join(out, 'app/combined'), 'utf8')).toBe('app\nbuilt\nlate v2\n');
  });

  it('mode=min exports the final image\'s steps, mode=max every stage\'s', async () => {
    const r = await build(runnerA, ['-t', 'app:a', '--cache-to', `type=registry,ref=${ref('min')},mode=min`]);
    expect(r.code, r.stderr).toBe(0);
    const client = new RegistryClient();
    const load = async (tag: string) => {
      const rc = await RemoteCache.open([{ type: 'registry', ref: ref(tag) }], { client, strict: true });
      const [loaded] = rc.loaded();
      return loaded!.config;
    };
    const min = await load('min');
    const max = await load('max');
    expect(min.mode).toBe('min');
    expect(new Set(min.records.map((x) => x.stage))).toEqual(new Set(['1']));
    expect(min.records.map((x) => x.text)).toEqual(['WORKDIR /app', 'COPY app.txt ./', 'COPY --from=build /out/ /app/out/', 'RUN cat /app/app.txt /app/out/built.txt > /app/combined', 'COPY late.txt ./', 'RUN cat /app/late.txt >> /app/combined']);
    expect(new Set(max.records.map((x) => x.stage))).toEqual(new Set(['build', '1']));
    expect(max.records).toHaveLength(8);
    // Each record links to the key of the state it ran on.
    for (let i = 1; i < min.records.length; i++) expect(min.records[i]!.parent).toBe(min.records[i - 1]!.key);
  });

  it('`plan --cache-from` counts remote hits without downloading a layer', async () => {
    const p = await freshRunner();
    const r = await tbuild(['plan', '--root', p.root, '--cache-from', ref('max'), ctx]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('cache: 8 of 8 steps would be served from the cache');
    const layers = events(first).filter((e) => e.type === 'step-done').map((e) => e.layer!.digest);
    for (const d of layers) expect(await p.store.hasBlob(d)).toBe(false);
    const none = await tbuild(['plan', '--root', p.root, ctx]);
    expect(none.stdout).toContain('cache: 0 of 8 steps');
  });

  it('`cache ls --from` lists what a shared cache holds', async () => {
    const json = await tbuild(['cache', 'ls', '--from', ref('max'), '--format', 'json', '--filter', 'stage=build']);
    expect(json.code, json.stderr).toBe(0);
    const entries = JSON.parse(json.stdout) as Array<{ file: string; text: string; size: number; layer?: { digest: string } }>;
    expect(entries.map((e) => e.text).sort()).toEqual(['RUN echo second > /out/second.txt', 'RUN mkdir -p /out && echo built > /out/built.txt']);
    for (const e of entries) expect(e.file).toBe(ref('max'));
    const table = await tbuild(['cache', 'ls', '--from', ref('min')]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.trim().split('\n')).toHaveLength(1 + 6);
    expect(table.stdout).toContain(`${ref('min')}:11 [1] RUN cat /app/late.txt >> /app/combined`);
    const missing = await tbuild(['cache', 'ls', '--from', `${reg.host}/cache/none:x`]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('TB_CACHE_REMOTE_NOT_FOUND');
    const plain = `${reg.host}/app/plain:1`;
    const push = await build(runnerA, ['-t', plain, '--push']);
    expect(push.code, push.stderr).toBe(0);
    const notCache = await tbuild(['cache', 'ls', '--from', plain]);
    expect(notCache.code).not.toBe(0);
    expect(notCache.stderr).toContain('is an image without an inline cache');
  });

  it('moving a cache from a registry to a shared directory downloads the layers the directory lacks, once', async () => {
    const k = await freshRunner();
    const dir = path.join(work.dir, 'moved-cache');
    const r = await build(k.root, ['-t', 'app:k', '--cache-from', ref('max'), '--cache-to', `type=local,dest=${dir},mode=max`]);
    expect(r.code, r.stderr).toBe(0);
    expect(started(r)).toEqual([]);
    expect(exportDetail(r)).toBe('8 records, 8 layers: 8 uploaded, 0 already there');
    // Six layers for the image, then the build stage's two for the export.
    expect(events(r).filter((e) => e.type === 'pull')).toHaveLength(8);
    const moved = await RemoteCache.open([{ type: 'local', src: dir, tag: 'latest' }], { client: new RegistryClient(), strict: true });
    for (const l of moved.loaded()[0]!.config.layers) expect(fs.existsSync(path.join(dir, 'blobs/sha256', l.digest.slice(7)))).toBe(true);
  });

  it('image-manifest=true stores the cache as an image manifest, which imports the same way', async () => {
    const exp = await build(runnerA, ['-t', 'app:a', '--cache-to', `type=registry,ref=${ref('manifest')},mode=max,image-manifest=true`]);
    expect(exp.code, exp.stderr).toBe(0);
    const res = await fetch(`http://${reg.host}/v2/cache/app/manifests/manifest`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    const doc = (await res.json()) as { mediaType: string; config: { mediaType: string }; layers: unknown[] };
    expect(doc.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(doc.config.mediaType).toBe('application/vnd.tbuild.cache.config.v1+json');
    expect(doc.layers).toHaveLength(8);
    const h = await freshRunner();
    const r = await build(h.root, ['-t', 'app:h', '--cache-from', ref('manifest')]);
    expect(r.code, r.stderr).toBe(0);
    expect(started(r)).toEqual([]);
  });

  it('a failed export fails the build unless ignore-error=true', async () => {
    const unreachable = 'type=registry,ref=127.0.0.1:1/cache/app:x';
    const strict = await build(runnerA, ['-t', 'app:a', '--cache-to', unreachable]);
    expect(strict.code).not.toBe(0);
    expect(strict.stderr).toContain('TB_REGISTRY_UNREACHABLE');
    const lenient = await build(runnerA, ['-t', 'app:a', '--cache-to', `${unreachable},ignore-error=true`]);
    expect(lenient.code, lenient.stderr).toBe(0);
    expect(events(lenient).filter((e) => e.type === 'warning').map((e) => (e as { code?: string }).code)).toEqual(['TB_CACHE_REMOTE_EXPORT']);
  });

  it('a shared directory (type=local) works like a registry', async () => {
    const dir = path.join(work.dir, 'shared-cache');
    const exp = await build(runnerA, ['-t', 'app:a', '--cache-to', `type=local,dest=${dir},mode=max`]);
    expect(exp.code, exp.stderr).toBe(0);
    expect(fs.existsSync(path.join(dir, 'index.json'))).toBe(true);
    const ls = await tbuild(['cache', 'ls', '--format', 'json', '--from', `type=local,src=${dir}`]);
    expect(ls.code, ls.stderr).toBe(0);
    expect(JSON.parse(ls.stdout)).toHaveLength(8);
    const d = await freshRunner();
    // A cache that does not exist yet (a pipeline's first run) is a warning, not a failure.
    const r = await build(d.root, ['-t', 'app:d', '--cache-from', `${reg.host}/cache/none:x`, '--cache-from', `type=local,src=${dir}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(started(r)).toEqual([]);
    expect(events(r).filter((e) => e.type === 'warning').map((e) => (e as { code?: string }).code)).toEqual(['TB_CACHE_REMOTE_UNUSED']);
  });

  it('an image pushed with inline cache serves another runner; in min mode the unexported build stage is not rebuilt', async () => {
    const image = `${reg.host}/app/inline:1`;
    const p = await build(runnerA, ['-t', image, '--push', '--cache-to', 'type=inline']);
    expect(p.code, p.stderr).toBe(0);
    const f = await freshRunner();
    const r = await build(f.root, ['-t', 'app:f', '--cache-from', image]);
    expect(r.code, r.stderr).toBe(0);
    expect(started(r)).toEqual([]);
    expect(cached(r)).toEqual(['WORKDIR /app', 'COPY app.txt ./', 'COPY --from=build /out/ /app/out/', 'RUN cat /app/app.txt /app/out/built.txt > /app/combined', 'COPY late.txt ./', 'RUN cat /app/late.txt >> /app/combined']);
  });

  it('a tampered layer blob in the registry is rejected', async () => {
    const last = events(first).find((e) => e.type === 'step-done' && e.step?.text === 'RUN cat /app/late.txt >> /app/combined')!.layer!.digest;
    const hex = last.slice('sha256:'.length);
    const file = path.join(reg.root, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0xff;
    fs.writeFileSync(file, bytes);

    const e = await freshRunner();
    const r = await build(e.root, ['-t', 'app:e', '--cache-from', `type=registry,ref=${ref('max')}`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('TB_REGISTRY_DIGEST_MISMATCH');
    expect(r.stderr).toContain(`layer ${last} rejected`);
    expect(await e.store.hasBlob(last)).toBe(false);
    expect(await e.store.getRef('image:docker.io/library/app:e')).toBeUndefined();
  });
});
