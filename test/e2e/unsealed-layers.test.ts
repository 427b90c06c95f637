import fs from 'node:fs';
import path from 'node:path';
import { isUnsealed, Store } from '@tbuild/cache';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tbuild } from '../support/cli.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';
import { seededStore } from '../support/seed.ts';

// Stages the image does not contain leave their layers unsealed: a snapshot, no tar, no blob.
// Whatever later needs a blob (another target, a cache export) seals them then, and must get
// the very layers a build that sealed everything at once would have made.
const DOCKERFILE = `FROM busybox AS deps
WORKDIR /app
COPY pkg.txt ./
RUN mkdir -p lib gone/x && for i in 1 2 3; do cat pkg.txt > lib/f$i; done && echo y > gone/x/y && echo old > /etc/motd

FROM deps AS prune
RUN rm -rf gone /etc/motd lib && mkdir lib && echo new > lib/n && touch -d @1600000000 lib/n

FROM busybox
COPY --from=prune /app /app
RUN cat /app/lib/n /app/pkg.txt > /app/seen
`;

const SDE = { SOURCE_DATE_EPOCH: '1700000000' };
/** The summary line of a build that ran nothing. */
const ALL_CACHED = /(\d+) steps, \1 cached, 0 run/;

describe.skipIf(!isRoot)(`layers of stages the image does not contain stay unsealed until needed (${NEEDS_ROOT})`, () => {
  const work = tempDir('tbuild-unsealed-');
  const ctx = path.join(work.dir, 'ctx');
  const stores: Array<{ root: string; cleanup: () => void }> = [];
  const fresh = async (): Promise<string> => {
    const s = await seededStore();
    stores.push(s);
    return s.root;
  };
  let lazy: string;
  let image: string;

  beforeAll(() => {
    fs.mkdirSync(ctx, { recursive: true });
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), DOCKERFILE);
    fs.writeFileSync(path.join(ctx, 'pkg.txt'), 'package\n');
  });
  afterAll(() => {
    for (const s of stores) s.cleanup();
    work.cleanup();
  });

  const build = async (root: string, args: string[] = []): Promise<{ id: string; stderr: string }> => {
    const iid = path.join(work.dir, `iid-${Math.random()}`);
    const r = await tbuild(['build', '--root', root, '--progress=plain', '--iidfile', iid, ...args, ctx], { env: SDE });
    expect(r.code, r.stderr).toBe(0);
    return { id: fs.readFileSync(iid, 'utf8').trim(), stderr: r.stderr };
  };
  const records = async (root: string): Promise<Array<{ text: string; unsealed: boolean; hasBlob: boolean }>> => {
    const store = await Store.open(root);
    const out = [];
    for (const r of await store.listSteps()) if (r.layer) out.push({ text: r.source?.text ?? '', unsealed: isUnsealed(r.layer), hasBlob: await store.hasBlob(r.layer.digest) });
    return out.sort((a, b) => a.text.localeCompare(b.text));
  };

  it('builds the image without a blob for the other stages, and a rebuild takes all of it from the cache', async () => {
    lazy = await fresh();
    const first = await build(lazy);
    image = first.id;
    // Six steps ran; only the image's two wrote a layer.
    expect(first.stderr).toMatch(/6 steps, 0 cached, 6 run, 2 layers written/);
    const recs = await records(lazy);
    const unsealed = recs.filter((r) => r.unsealed).map((r) => r.text);
    expect(unsealed.sort()).toEqual(['COPY pkg.txt ./', 'RUN mkdir -p lib gone/x && for i in 1 2 3; do cat pkg.txt > lib/f$i; done && echo y > gone/x/y && echo old > /etc/motd', 'RUN rm -rf gone /etc/motd lib && mkdir lib && echo new > lib/n && touch -d @1600000000 lib/n', 'WORKDIR /app'].sort());
    expect(recs.filter((r) => r.unsealed && r.hasBlob)).toEqual([]);
    expect(recs.filter((r) => !r.unsealed).every((r) => r.hasBlob)).toBe(true);
    const again = await build(lazy);
    expect(again.id).toBe(image);
    expect(again.stderr).toMatch(ALL_CACHED);
    const listed = await tbuild(['cache', 'ls', '--root', lazy]);
    // The SIZE column (the Dockerfile's path, under this test's temp dir, names it too).
    expect(listed.stdout.split('\n').filter((l) => l.split(/\s{2,}/)[1] === 'unsealed')).toHaveLength(4);
    const verify = await tbuild(['cache', 'verify', '--root', lazy]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  });

  it('gives the image a build that makes every blob at once gives (a cache export needs them all)', async () => {
    const eager = await fresh();
    const r = await build(eager, ['--cache-to', `type=local,dest=${path.join(work.dir, 'eager-cache')},mode=max`]);
    expect(r.id).toBe(image);
    expect((await records(eager)).filter((x) => x.unsealed)).toEqual([]);
  });

  it('seals the layers another target needs: the image is the one a fresh store builds, and its records name blobs from then on', async () => {
    const sealedLater = await build(lazy, ['--target', 'prune']);
    expect(sealedLater.stderr).toMatch(ALL_CACHED);
    const fromScratch = await build(await fresh(), ['--target', 'prune']);
    expect(sealedLater.id).toBe(fromScratch.id);
    const still = (await records(lazy)).filter((x) => x.unsealed);
    expect(still).toEqual([]);
    expect((await build(lazy)).id).toBe(image);
  });

  it('exports every step of a lazily built store to a cache, sealing what it has to', async () => {
    const root = await fresh();
    await build(root);
    const dir = path.join(work.dir, 'lazy-cache');
    expect((await build(root, ['--cache-to', `type=local,dest=${dir},mode=max`])).id).toBe(image);
    // mode=max: the other stages' steps too, though this build needed none of them.
    const listed = await tbuild(['cache', 'ls', '--from', `type=local,src=${dir}`]);
    expect(listed.code, listed.stderr).toBe(0);
    for (const text of ['WORKDIR /app', 'COPY pkg.txt ./', 'RUN mkdir -p lib gone/x', 'RUN rm -rf gone']) expect(listed.stdout).toContain(text);
    const importer = await fresh();
    const r = await build(importer, ['--cache-from', `type=local,src=${dir}`, '--target', 'prune']);
    expect(r.stderr).toMatch(ALL_CACHED);
  });

  it('moves the unchanged files of a rerun context COPY out of its unsealed previous result', async () => {
    const edited = path.join(work.dir, 'edited');
    for (let d = 0; d < 3; d++) {
      fs.mkdirSync(path.join(edited, `data/d${d}`), { recursive: true });
      for (let f = 0; f < 40; f++) fs.writeFileSync(path.join(edited, `data/d${d}/f${f}.txt`), `file ${d}/${f}\n`);
    }
    fs.writeFileSync(path.join(edited, 'Dockerfile'), 'FROM busybox AS src\nCOPY data /data\nRUN cat /data/d1/f1.txt > /seen\n\nFROM busybox\nCOPY --from=src /seen /seen\n');
    const root = await fresh();
    const inodes = (rel: string): number[] =>
      fs.readdirSync(path.join(root, 's')).flatMap((slot) => fs.lstatSync(path.join(root, 's', slot, 'fs', rel), { throwIfNoEntry: false })?.ino ?? []);
    const run = async (): Promise<string> => {
      const out = fs.mkdtempSync(path.join(work.dir, 'out-'));
      const r = await tbuild(['build', '--root', root, '-o', `type=local,dest=${out}`, edited], { env: SDE });
      expect(r.code, r.stderr).toBe(0);
      return fs.readFileSync(path.join(out, 'seen'), 'utf8');
    };
    expect(await run()).toBe('file 1/1\n');
    expect((await records(root)).filter((r) => r.unsealed)).toHaveLength(2);
    const [before] = inodes('data/d0/f0.txt');
    fs.writeFileSync(path.join(edited, 'data/d1/f1.txt'), 'edited\n');
    expect(await run()).toBe('edited\n');
    // Moved, not copied: one snapshot holds the file, with the inode it had.
    expect(inodes('data/d0/f0.txt')).toEqual([before]);
    const verify = await tbuild(['cache', 'verify', '--root', root]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  });

  it('drops an unsealed snapshot with its record when the cache is pruned', async () => {
    const root = await fresh();
    await build(root);
    const unsealedSlots = (): string[] => fs.readdirSync(path.join(root, 's')).filter((s) => fs.existsSync(path.join(root, 's', s, 'unsealed')));
    expect(unsealedSlots().length).toBe(4);
    const prune = await tbuild(['cache', 'prune', '--all', '--root', root]);
    expect(prune.code, prune.stdout + prune.stderr).toBe(0);
    expect(unsealedSlots()).toEqual([]);
  });
});
