import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tbuild } from '../support/cli.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';
import { mountsUnder, seededStore } from '../support/seed.ts';

interface Event {
  type: string;
  step?: { text: string };
}

function events(stderr: string): Event[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Event);
}

describe.skipIf(!isRoot)(`tbuild build end to end (${NEEDS_ROOT})`, () => {
  let root: string;
  let cleanupStore: () => void;
  const work = tempDir('tbuild-e2e-');
  const ctx = path.join(work.dir, 'app');

  beforeAll(async () => {
    const s = await seededStore();
    root = s.root;
    cleanupStore = s.cleanup;
    fs.mkdirSync(path.join(ctx, 'src'), { recursive: true });
    fs.writeFileSync(path.join(ctx, 'src/main.txt'), 'version 1\n');
    fs.writeFileSync(path.join(ctx, 'src/ignored.log'), 'noise\n');
    fs.writeFileSync(path.join(ctx, '.dockerignore'), '**/*.log\n');
    fs.writeFileSync(
      path.join(ctx, 'Dockerfile'),
      [
        'FROM busybox AS build',
        'ARG GREETING=hello',
        'RUN echo "$GREETING from build" > /greeting && mkdir -p /out && cp /greeting /out/',
        '',
        'FROM busybox',
        'WORKDIR /app',
        'COPY src/ ./src/',
        'COPY --from=build /out/greeting /app/greeting',
        'RUN cat /app/src/main.txt /app/greeting > /app/combined && ls /app/src > /app/listing',
        'ENV MODE=prod',
        'CMD ["cat", "/app/combined"]',
        '',
      ].join('\n'),
    );
  });

  afterAll(() => {
    cleanupStore?.();
    work.cleanup();
  });

  it('builds a multi-stage Dockerfile into the store and exports its filesystem', async () => {
    const out = path.join(work.dir, 'rootfs');
    const iid = path.join(work.dir, 'iid');
    const meta = path.join(work.dir, 'meta.json');
    const tarOut = path.join(work.dir, 'rootfs.tar');
    const r = await tbuild(['build', '--root', root, '-t', 'app:1', '--progress=plain', '--iidfile', iid, '--metadata-file', meta, '-o', `type=local,dest=${out}`, '-o', `type=tar,dest=${tarOut}`, ctx]);
    expect(r.stderr).toContain('RUN echo');
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(path.join(out, 'app/combined'), 'utf8')).toBe('version 1\nhello from build\n');
    expect(fs.readFileSync(path.join(out, 'app/listing'), 'utf8')).toBe('main.txt\n');
    // type=tar: the same filesystem as one archive, every path of the local export and no other.
    const listing = execFileSync('tar', ['-tvf', tarOut, '--numeric-owner'], { encoding: 'utf8' });
    const tarPaths = listing.trim().split('\n').map((l) => l.split(/\s+/).slice(5).join(' ').replace(/ -> .*$/, '').replace(/^\.\/?/, '').replace(/\/$/, '')).filter(Boolean).sort();
    expect(tarPaths).toEqual((fs.readdirSync(out, { recursive: true }) as string[]).sort());
    expect(execFileSync('tar', ['-xOf', tarOut, './app/combined'], { encoding: 'utf8' })).toBe('version 1\nhello from build\n');
    expect(fs.readdirSync(work.dir).filter((f) => f.includes('.tbuild-'))).toEqual([]);
    const id = fs.readFileSync(iid, 'utf8');
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(JSON.parse(fs.readFileSync(meta, 'utf8'))['containerimage.config.digest']).toBe(id);

    const inspect = await tbuild(['inspect', '--root', root, 'app:1']);
    expect(inspect.code, inspect.stderr).toBe(0);
    const [img] = JSON.parse(inspect.stdout) as Array<{ Id: string; Config: { Env: string[]; Cmd: string[]; WorkingDir: string } }>;
    expect(img!.Id).toBe(id);
    expect(img!.Config.Cmd).toEqual(['cat', '/app/combined']);
    expect(img!.Config.WorkingDir).toBe('/app');
    expect(img!.Config.Env).toContain('MODE=prod');
    expect(await mountsUnder(root)).toEqual([]);
  });

  it('serves an unchanged rebuild entirely from the cache, starting no step', async () => {
    const r = await tbuild(['build', '--root', root, '-t', 'app:1', '--progress=rawjson', ctx]);
    expect(r.code, r.stderr).toBe(0);
    const ev = events(r.stderr);
    expect(ev.filter((e) => e.type === 'step-start')).toEqual([]);
    expect(ev.filter((e) => e.type === 'step-cached').length).toBeGreaterThanOrEqual(4);
  });

  it('reruns exactly the steps from a changed file on, not the other stage', async () => {
    fs.writeFileSync(path.join(ctx, 'src/main.txt'), 'version 2\n');
    fs.writeFileSync(path.join(ctx, 'src/other.log'), 'ignored, so it changes nothing\n');
    const r = await tbuild(['build', '--root', root, '-q', '--progress=rawjson', ctx]);
    expect(r.code, r.stderr).toBe(0);
    const started = events(r.stderr)
      .filter((e) => e.type === 'step-start')
      .map((e) => e.step!.text);
    // Every later step of the stage has a new parent; the build stage is untouched.
    expect(started).toEqual([
      'COPY src/ ./src/',
      'COPY --from=build /out/greeting /app/greeting',
      'RUN cat /app/src/main.txt /app/greeting > /app/combined && ls /app/src > /app/listing',
    ]);
    expect(r.stdout.trim()).toMatch(/^sha256:/);
  });

  it('copies a 4,200-file tree on its copy threads, and exits once the image is built', async () => {
    const many = path.join(work.dir, 'many');
    for (let d = 0; d < 7; d++) {
      fs.mkdirSync(path.join(many, `tree/d${d}`), { recursive: true });
      for (let i = 0; i < 600; i++) fs.writeFileSync(path.join(many, `tree/d${d}/f${i}`), `${d}.${i}\n`.repeat((i % 100) + 1), { mode: i % 2 ? 0o755 : 0o644 });
    }
    fs.writeFileSync(path.join(many, 'Dockerfile'), 'FROM busybox\nCOPY tree /tree\nRUN find /tree -type f | wc -l > /count\n');
    const out = path.join(work.dir, 'many-out');
    const r = await tbuild(['build', '--root', root, '-q', '-o', `type=local,dest=${out}`, many]);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(path.join(out, 'count'), 'utf8').trim()).toBe('4200');
    for (const [d, i] of [[0, 0], [3, 457], [6, 599]] as const) {
      const p = path.join(out, `tree/d${d}/f${i}`);
      expect(fs.readFileSync(p, 'utf8')).toBe(`${d}.${i}\n`.repeat((i % 100) + 1));
      expect(fs.statSync(p).mode & 0o777).toBe(i % 2 ? 0o755 : 0o644);
    }
  });

  it('reads --build-context directories (COPY --from, RUN --mount from=) and images (FROM), and rebuilds when a named context changes', async () => {
    const mono = path.join(work.dir, 'mono');
    fs.mkdirSync(path.join(mono, 'shared'), { recursive: true });
    fs.mkdirSync(path.join(mono, 'svc'), { recursive: true });
    fs.writeFileSync(path.join(mono, 'shared/lib.txt'), 'lib v1\n');
    fs.writeFileSync(path.join(mono, 'shared/secret.key'), 'ignored\n');
    fs.writeFileSync(path.join(mono, 'shared/.dockerignore'), '*.key\n');
    // lib.txt exists only in the named context: nothing may look for it in the main one.
    fs.writeFileSync(path.join(mono, 'svc/Dockerfile'), 'FROM base\nCOPY --from=shared . /shared/\nCOPY --from=shared lib.txt /lib-again.txt\nRUN --mount=from=shared,source=lib.txt,target=/s.txt cat /s.txt > /mounted\n');
    const out = path.join(work.dir, 'mono-out');
    const build = (): Promise<{ code: number; stderr: string }> =>
      tbuild(['build', '--root', root, '--progress=plain', '--build-context', 'shared=../shared', '--build-context', 'base=docker-image://busybox', '-o', `type=local,dest=${out}`, '.'], { cwd: path.join(mono, 'svc') });
    const first = await build();
    expect(first.code, first.stderr).toBe(0);
    expect(fs.readFileSync(path.join(out, 'shared/lib.txt'), 'utf8')).toBe('lib v1\n');
    expect(fs.existsSync(path.join(out, 'shared/secret.key'))).toBe(false);
    expect(fs.readFileSync(path.join(out, 'mounted'), 'utf8')).toBe('lib v1\n');
    expect(fs.readFileSync(path.join(out, 'lib-again.txt'), 'utf8')).toBe('lib v1\n');
    expect(fs.existsSync(path.join(out, 'bin/busybox'))).toBe(true);
    const why = await tbuild(['cache', 'why', '--root', root, '--build-context', 'shared=../shared', '--build-context', 'base=docker-image://busybox', '.'], { cwd: path.join(mono, 'svc') });
    expect(why.code, why.stderr).toBe(0);
    const again = await build();
    expect(again.stderr).not.toMatch(/^#\d+ DONE/m);
    fs.writeFileSync(path.join(mono, 'shared/lib.txt'), 'lib v2\n');
    const edited = await build();
    expect(edited.code, edited.stderr).toBe(0);
    expect(fs.readFileSync(path.join(out, 'mounted'), 'utf8')).toBe('lib v2\n');
    const bad = await tbuild(['build', '--root', root, '--build-context', 'base=nope-dir', '.'], { cwd: path.join(mono, 'svc') });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/TB_CLI_BUILD_CONTEXT: build context "base": nope-dir is not a directory/);
  });

  it('reports a failing RUN with its exit code, the Dockerfile line and the output tail, and leaves nothing mounted', async () => {
    const bad = path.join(work.dir, 'bad');
    fs.mkdirSync(bad);
    fs.writeFileSync(path.join(bad, 'Dockerfile'), 'FROM busybox\nRUN echo about to fail && exit 3\n');
    const r = await tbuild(['build', '--root', root, '--progress=plain', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('TB_EXEC_NONZERO_EXIT');
    expect(r.stderr).toContain('did not complete successfully: exit code: 3');
    expect(r.stderr).toContain('>>>2 | RUN echo about to fail && exit 3');
    expect(r.stderr).toContain('about to fail');
    expect(r.stderr).not.toMatch(/\n\s+at .*\(.*\.(ts|js|mjs):\d+/);
    expect(await mountsUnder(root)).toEqual([]);
  });
});
