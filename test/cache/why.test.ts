import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tbuild } from '../support/cli.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';
import { seededStore } from '../support/seed.ts';

const DOCKERFILE = [
  'FROM busybox AS build',
  'ARG VERSION=1.2',
  'ARG API_TOKEN=s3cret-token',
  'ENV MODE=dev',
  'RUN echo "$VERSION $MODE" > /v',
  'COPY src/ /app/src/',
  'RUN cat /app/src/app.txt > /app/out',
  '',
].join('\n');

// Each case edits the project, asks `cache why` and compares the lines users read; the store
// holds the entries of the first build only, so every answer is relative to that build.
describe.skipIf(!isRoot)(`tbuild cache why, ls and inspect (${NEEDS_ROOT})`, () => {
  let root: string;
  let cleanupStore: () => void;
  const work = tempDir('tbuild-why-');
  const app = path.join(work.dir, 'app');
  const write = (rel: string, text: string): void => {
    fs.mkdirSync(path.dirname(path.join(app, rel)), { recursive: true });
    fs.writeFileSync(path.join(app, rel), text);
  };
  const why = async (...flags: string[]): Promise<string> => {
    const r = await tbuild(['cache', 'why', '--root', root, ...flags, 'app'], { cwd: work.dir });
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trimEnd();
  };
  const restore = (): void => {
    fs.rmSync(app, { recursive: true, force: true });
    write('Dockerfile', DOCKERFILE);
    write('src/app.txt', 'v1\n');
    fs.chmodSync(path.join(app, 'src/app.txt'), 0o644);
  };

  beforeAll(async () => {
    const s = await seededStore();
    root = s.root;
    cleanupStore = s.cleanup;
    restore();
    const r = await tbuild(['build', '--root', root, '-t', 'app:1', '--progress=plain', 'app'], { cwd: work.dir });
    expect(r.code, r.stderr).toBe(0);
  });

  afterAll(() => {
    cleanupStore?.();
    work.cleanup();
  });

  it('says every step hits right after a build', async () => {
    restore();
    expect(await why()).toBe(
      [
        'line 5 `RUN echo "$VERSION $MODE" > /v`: cached',
        'line 6 `COPY src/ /app/src/`: cached',
        'line 7 `RUN cat /app/src/app.txt > /app/out`: cached',
        'all 3 steps will be served from the cache',
      ].join('\n'),
    );
  });

  it('names the build arg that changed, and the steps after it as parent misses', async () => {
    restore();
    expect(await why('--build-arg', 'VERSION=1.3')).toBe(
      [
        'line 5 `RUN echo "$VERSION $MODE" > /v`: build arg VERSION changed 1.2 -> 1.3',
        'line 6 `COPY src/ /app/src/`: parent step missed (line 5 `RUN echo "$VERSION $MODE" > /v`)',
        'line 7 `RUN cat /app/src/app.txt > /app/out`: parent step missed (line 6 `COPY src/ /app/src/`)',
        '3 of 3 steps will run',
      ].join('\n'),
    );
  });

  it('never prints the value of a secret-looking build arg', async () => {
    restore();
    const out = await why('--build-arg', 'API_TOKEN=other-token');
    expect(out.split('\n')[0]).toBe('line 5 `RUN echo "$VERSION $MODE" > /v`: build arg API_TOKEN changed (value redacted)');
    expect(out).not.toContain('token');
  });

  it('lists the files that changed in the context of a COPY', async () => {
    restore();
    write('src/app.txt', 'v2\n');
    write('src/new-a.txt', 'a\n');
    write('src/new-b.txt', 'b\n');
    expect((await why()).split('\n')[1]).toBe('line 6 `COPY src/ /app/src/`: src/app.txt changed (content), 2 files added');
  });

  it('tells a mode change from a content change, and names a single removed file', async () => {
    restore();
    fs.chmodSync(path.join(app, 'src/app.txt'), 0o755);
    expect((await why()).split('\n')[1]).toBe('line 6 `COPY src/ /app/src/`: src/app.txt changed (mode 0644 -> 0755)');
    restore();
    fs.rmSync(path.join(app, 'src/app.txt'));
    write('src/other.txt', 'x\n');
    expect((await why()).split('\n')[1]).toBe('line 6 `COPY src/ /app/src/`: src/other.txt added, src/app.txt removed');
  });

  it('points at the ENV before a RUN that changed its environment', async () => {
    restore();
    write('Dockerfile', DOCKERFILE.replace('ENV MODE=dev', 'ENV MODE=prod'));
    expect((await why()).split('\n')[0]).toBe('line 5 `RUN echo "$VERSION $MODE" > /v`: env MODE changed dev -> prod (line 4 `ENV MODE=prod`)');
  });

  it('shows a changed command, and a step no build ran before', async () => {
    restore();
    write('Dockerfile', DOCKERFILE.replace('RUN cat /app/src/app.txt > /app/out', 'RUN cat /app/src/app.txt /v > /app/out\nRUN echo more'));
    expect(await why()).toBe(
      [
        'line 5 `RUN echo "$VERSION $MODE" > /v`: cached',
        'line 6 `COPY src/ /app/src/`: cached',
        'line 7 `RUN cat /app/src/app.txt /v > /app/out`: command changed: `cat /app/src/app.txt > /app/out` -> `cat /app/src/app.txt /v > /app/out`',
        'line 8 `RUN echo more`: parent step missed (line 7 `RUN cat /app/src/app.txt /v > /app/out`)',
        '2 of 4 steps will run',
      ].join('\n'),
    );
    write('Dockerfile', DOCKERFILE + 'RUN echo more\n');
    expect((await why()).split('\n')[3]).toBe('line 8 `RUN echo more`: no earlier build of this step is in the cache');
  });

  it('build --explain prints the misses before building, and the build then records them', async () => {
    restore();
    write('src/app.txt', 'v3\n');
    const r = await tbuild(['build', '--root', root, '--explain', '--progress=quiet', 'app'], { cwd: work.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      ['line 6 `COPY src/ /app/src/`: src/app.txt changed (content)', 'line 7 `RUN cat /app/src/app.txt > /app/out`: parent step missed (line 6 `COPY src/ /app/src/`)', '2 of 3 steps will run'].join('\n'),
    );
    expect(r.stderr).not.toContain('line 5');
    expect((await why()).split('\n').at(-1)).toBe('all 3 steps will be served from the cache');
  });

  it('lists entries with their Dockerfile step, most recently used first', async () => {
    const r = await tbuild(['cache', 'ls', '--root', root, '--format', 'json'], { cwd: work.dir });
    expect(r.code, r.stderr).toBe(0);
    const entries = JSON.parse(r.stdout) as Array<{ file: string; line: number; text: string; stage: string; lastUsed: string; hits: number; images: string[] }>;
    expect(entries.map((e) => e.lastUsed)).toEqual([...entries.map((e) => e.lastUsed)].sort().reverse());
    const run5 = entries.find((e) => e.line === 5)!;
    expect(run5).toMatchObject({ file: 'app/Dockerfile', text: 'RUN echo "$VERSION $MODE" > /v', stage: 'build', images: ['app:1'] });
    expect(run5.hits).toBeGreaterThan(0);

    const table = await tbuild(['cache', 'ls', '--root', root, '--filter', 'text=cat /app'], { cwd: work.dir });
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^KEY +SIZE +CREATED +LAST USED +HITS +STEP$/);
    expect(lines.length).toBe(3); // the RUN of the first build and of the --explain build
    for (const l of lines.slice(1)) expect(l).toMatch(/^[0-9a-f]{12} .* app\/Dockerfile:7 \[build\] RUN cat \/app\/src\/app\.txt > \/app\/out$/);

    const bad = await tbuild(['cache', 'ls', '--root', root, '--filter', 'stag=build'], { cwd: work.dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown filter "stag"');
    expect(bad.stderr).toContain('did you mean "stage"?');
  });

  it('inspect shows the key inputs with secrets redacted, the layer and the images using it', async () => {
    const ls = JSON.parse((await tbuild(['cache', 'ls', '--root', root, '--format', 'json', '--filter', 'text=RUN echo'])).stdout) as Array<{ shortKey: string }>;
    const r = await tbuild(['cache', 'inspect', '--root', root, ls[0]!.shortKey.slice(0, 8)], { cwd: work.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('s3cret');
    const d = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(d.kind).toBe('run');
    expect(d.command).toEqual(['/bin/sh', '-c', 'echo "$VERSION $MODE" > /v']);
    expect(d.args).toEqual(['API_TOKEN=<redacted>', 'VERSION=1.2']);
    expect(d.env).toContain('MODE=dev');
    expect(d.base).toMatchObject({ kind: 'image', ref: 'docker.io/library/busybox:latest' });
    expect((d.configSteps as Array<{ text: string }>).map((c) => c.text)).toEqual(['ARG VERSION=1.2', 'ARG API_TOKEN=<redacted>', 'ENV MODE=dev']);
    expect(d.images).toEqual(['app:1']);
    expect((d.layer as { digest: string }).digest).toMatch(/^sha256:/);

    const copy = JSON.parse((await tbuild(['cache', 'ls', '--root', root, '--format', 'json', '--filter', 'text=COPY'])).stdout) as Array<{ key: string }>;
    const c = JSON.parse((await tbuild(['cache', 'inspect', '--root', root, copy.at(-1)!.key])).stdout) as { contextFiles: Array<{ files: Array<{ path: string; digest: string }> }> };
    expect(c.contextFiles[0]!.files.map((f) => f.path)).toEqual(['src/app.txt']);
    expect(c.contextFiles[0]!.files[0]!.digest).toMatch(/^xxh64:[0-9a-f]{16}$/);

    const missing = await tbuild(['cache', 'inspect', '--root', root, 'ffffffffffff']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no cache entry with key ffffffffffff');
  });

  it('follows COPY --from into the stage it reads, and knows a stage whose readers hit is not built', async () => {
    const ms = path.join(work.dir, 'ms');
    fs.mkdirSync(ms, { recursive: true });
    fs.writeFileSync(path.join(ms, 'Dockerfile'), 'FROM busybox AS gen\nARG V=1\nRUN echo $V > /out\n\nFROM busybox\nCOPY --from=gen /out /out\nRUN cat /out\n');
    const b = await tbuild(['build', '--root', root, '--progress=quiet', 'ms'], { cwd: work.dir });
    expect(b.code, b.stderr).toBe(0);
    const whyMs = async (...flags: string[]): Promise<string> => (await tbuild(['cache', 'why', '--root', root, ...flags, 'ms'], { cwd: work.dir })).stdout.trimEnd();
    expect(await whyMs('--build-arg', 'V=2')).toBe(
      [
        '[gen] line 3 `RUN echo $V > /out`: build arg V changed 1 -> 2',
        '[1] line 6 `COPY --from=gen /out /out`: stage "gen" it reads from missed (line 3 `RUN echo $V > /out`)',
        '[1] line 7 `RUN cat /out`: parent step missed (line 6 `COPY --from=gen /out /out`)',
        '3 of 3 steps will run',
      ].join('\n'),
    );
    // Without the gen stage's entry, the COPY still hits: gen is not rebuilt at all.
    const gen = JSON.parse((await tbuild(['cache', 'ls', '--root', root, '--format', 'json', '--filter', 'text=RUN echo $V'])).stdout) as Array<{ key: string }>;
    fs.rmSync(path.join(root, 'steps', `${createHash('sha256').update(gen[0]!.key).digest('hex')}.json`));
    expect(await whyMs()).toBe(
      [
        '[gen] line 3 `RUN echo $V > /out`: will not run: every step that reads this stage is cached',
        '[1] line 6 `COPY --from=gen /out /out`: cached',
        '[1] line 7 `RUN cat /out`: cached',
        'no step will run: 2 served from the cache, 1 not needed',
      ].join('\n'),
    );
  });

  it('names a changed base image by its digests', async () => {
    restore();
    const other = path.join(work.dir, 'other');
    fs.mkdirSync(other, { recursive: true });
    fs.writeFileSync(path.join(other, 'Dockerfile'), 'FROM busybox\nRUN echo other > /other\n');
    const before = JSON.parse((await tbuild(['inspect', '--root', root, 'busybox'])).stdout) as Array<{ RepoDigests: string[] }>;
    const r = await tbuild(['build', '--root', root, '-t', 'busybox:latest', '--progress=quiet', 'other'], { cwd: work.dir });
    expect(r.code, r.stderr).toBe(0);
    const after = JSON.parse((await tbuild(['inspect', '--root', root, 'busybox'])).stdout) as Array<{ RepoDigests: string[] }>;
    const digest = (x: typeof before): string => x[0]!.RepoDigests[0]!.split('@sha256:')[1]!.slice(0, 12);
    expect((await why()).split('\n')[0]).toBe(`line 5 \`RUN echo "$VERSION $MODE" > /v\`: base image digest changed: busybox:latest ${digest(before)} -> ${digest(after)}`);
  });
});
