import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tbuild, type CliRun } from '../support/cli.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';
import { mountsUnder, seededStore } from '../support/seed.ts';

interface Entry {
  key: string;
  line: number;
  text: string;
  layer?: { digest: string };
  images: string[];
  created: string;
}

describe.skipIf(!isRoot)(`tbuild cache du, prune and verify (${NEEDS_ROOT})`, () => {
  let root: string;
  let cleanupStore: () => void;
  const work = tempDir('tbuild-prune-');
  const app = path.join(work.dir, 'app');
  const run = (...args: string[]): Promise<CliRun> => tbuild([...args.slice(0, 2), '--root', root, ...args.slice(2)], { cwd: work.dir });
  const entries = async (): Promise<Entry[]> => JSON.parse((await run('cache', 'ls', '--format', 'json')).stdout) as Entry[];
  const build = async (): Promise<CliRun> => {
    const r = await tbuild(['build', '--root', root, '-t', 'app:1', '--progress=rawjson', 'app'], { cwd: work.dir });
    expect(r.code, r.stderr).toBe(0);
    return r;
  };
  const ran = (r: CliRun): string[] =>
    r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; step?: { line: number } })
      .filter((e) => e.type === 'step-start')
      .map((e) => `line ${e.step!.line}`);

  beforeAll(async () => {
    const s = await seededStore();
    root = s.root;
    cleanupStore = s.cleanup;
    fs.mkdirSync(app, { recursive: true });
    fs.writeFileSync(
      path.join(app, 'Dockerfile'),
      ['FROM busybox', 'RUN --mount=type=cache,target=/var/cache/app echo warm > /var/cache/app/f && echo one > /one', 'RUN echo two > /two', ''].join('\n'),
    );
    await build();
    // A second image whose steps no tag keeps: what prune may take.
    fs.writeFileSync(path.join(app, 'Dockerfile.tmp'), 'FROM busybox\nRUN echo scratch-work > /tmp/w\n');
    const r = await tbuild(['build', '--root', root, '-f', 'app/Dockerfile.tmp', '--progress=quiet', 'app'], { cwd: work.dir });
    expect(r.code, r.stderr).toBe(0);
  });

  afterAll(() => {
    cleanupStore?.();
    work.cleanup();
  });

  it('du reports every kind and what prune would free', async () => {
    const r = await run('cache', 'du', '--verbose');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^TYPE +COUNT +SIZE$/);
    expect(lines[1]).toMatch(/^Layers +3 +\d/);
    expect(lines[4]).toMatch(/^Cache mounts +1 +5B$/);
    expect(r.stdout).toMatch(/Reclaimable: .* by `tbuild cache prune`, .* by `tbuild cache prune --all`/);
    expect(r.stdout).toContain('Largest entries:');
    expect(r.stdout).toContain('app/Dockerfile.tmp:2 [0] RUN echo scratch-work > /tmp/w');
  });

  it('keeps every entry without options, and --filter until keeps recently used ones', async () => {
    const before = await entries();
    expect((await run('cache', 'prune')).stdout).toMatch(/^Removed 0 cache entries/);
    const r = await run('cache', 'prune', '--filter', 'until=1h');
    expect(r.stdout).toMatch(/^Removed 0 cache entries/);
    expect(await entries()).toEqual(before);
    const bad = await run('cache', 'prune', '--filter', 'until=soon');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('invalid duration "soon" in --filter until=soon');
  });

  it('--dry-run reports and removes nothing; --all removes entries but never image content', async () => {
    const before = await entries();
    const dry = await run('cache', 'prune', '--all', '--dry-run');
    expect(dry.stdout.split('\n')[0]).toBe(`Would remove ${before.length} cache entries, 1 blob, 1 snapshot`);
    expect(await entries()).toEqual(before);

    const r = await run('cache', 'prune', '--all');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`Removed ${before.length} cache entries, 1 blob, 1 snapshot`);
    expect(r.stdout).toMatch(/Total reclaimed space: \d/);
    expect(await entries()).toEqual([]);
    // The tagged image is whole: it exports, and the store verifies.
    const out = path.join(work.dir, 'app.tar');
    const save = await tbuild(['save', '--root', root, '-o', out, 'app:1'], { cwd: work.dir });
    expect(save.code, save.stderr).toBe(0);
    expect((await run('cache', 'verify')).stdout.trim()).toBe('cache verify: no problems found');
    // Entries come back with the next build (its steps run again).
    expect(ran(await build())).toEqual(['line 2', 'line 3']);
  });

  it('--keep-storage drops least recently used entries until the rest fits', async () => {
    expect((await entries()).length).toBe(2);
    const r = await run('cache', 'prune', '--keep-storage', '0');
    // Blobs and snapshots go too: the previous app:1 image's, which the rebuild untagged.
    expect(r.stdout.split('\n')[0]).toMatch(/^Removed 2 cache entries, \d+ blobs?, \d+ snapshots?$/);
    expect(await entries()).toEqual([]);
    expect((await run('cache', 'verify')).stdout.trim()).toBe('cache verify: no problems found');
    const bad = await run('cache', 'prune', '--keep-storage', '5 parsecs');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('invalid size "5 parsecs" for --keep-storage');
    await build();
  });

  it('--mounts removes cache mount directories', async () => {
    expect((await run('cache', 'prune', '--mounts')).stdout.split('\n')[0]).toBe('Removed 1 cache mount');
    expect(fs.readdirSync(path.join(root, 'mounts'))).toEqual([]);
  });

  it('detects a flipped byte in verify and in the next read, and never serves it as a hit', async () => {
    const top = (await entries()).find((e) => e.line === 3)!;
    const blob = path.join(root, 'blobs/sha256', top.layer!.digest.slice(7));
    fs.chmodSync(blob, 0o644);
    const data = fs.readFileSync(blob);
    data[data.length >> 1]! ^= 0x01;
    fs.writeFileSync(blob, data);

    const v = await run('cache', 'verify');
    expect(v.code).toBe(1);
    const problems = v.stdout.trimEnd().split('\n');
    expect(problems[0]).toMatch(new RegExp(`^blob ${top.layer!.digest}: content hashes to sha256:[0-9a-f]{64}$`));
    expect(problems).toContain(`step ${top.key}: layer blob ${top.layer!.digest} missing or corrupt`);
    expect(problems).toContain(`ref image:docker.io/library/app:1: blob ${top.layer!.digest} of the image missing or corrupt`);
    expect(v.stderr).toContain(`error TB_CACHE_VERIFY: ${problems.length} problems found`);

    const save = await tbuild(['save', '--root', root, '-o', path.join(work.dir, 'bad.tar'), 'app:1'], { cwd: work.dir });
    expect(save.code).toBe(1);
    expect(save.stderr).toContain('TB_CACHE_CORRUPT');

    const why = await tbuild(['cache', 'why', '--root', root, 'app'], { cwd: work.dir });
    expect(why.stdout).toContain('line 3 `RUN echo two > /two`: its cache entry is unusable (layer blob missing or corrupt); it will run again');
    // The rerun must write /two in a later second than the first build did, or its layer could
    // be byte-identical and its write would replace the corrupt blob (builds are fast enough now).
    const firstBuilt = Date.parse(top.created);
    await new Promise((r) => setTimeout(r, Math.max(0, firstBuilt + 1100 - Date.now())));
    expect(ran(await build())).toEqual(['line 3']);

    // The rebuild recorded a new layer (times differ) and retagged app:1, so the corrupt blob
    // is now unreferenced, still reported, and removed by --repair.
    const repaired = await run('cache', 'verify', '--repair');
    expect(repaired.code).toBe(1);
    expect(repaired.stdout.trimEnd()).toBe(problems[0]);
    expect(repaired.stderr).toContain('1 problem found and repaired');
    expect((await run('cache', 'verify')).stdout.trim()).toBe('cache verify: no problems found');
    expect(await mountsUnder(root)).toEqual([]);
  });
});
