import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, renameSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { isRoot, NEEDS_ROOT } from '../../../test/support/root.ts';
import { BuildContext, IgnoreMatcher, parseDockerignore } from './index.ts';
import type { ContextSelection, StatCachePersistence } from './index.ts';
import { digestAndClose, filePersistence, makeTree, settledTree } from './test-support.ts';

const tree = {
  'app/main.js': 'console.log(1)\n',
  'app/lib/util.js': 'export const x = 1;\n',
  'app/bin/run': '#!/bin/sh\n',
  'app/link': { link: 'main.js' },
  'node_modules/dep/index.js': 'dep\n',
  'other/readme': 'other\n',
};
const ignore = new IgnoreMatcher(parseDockerignore('node_modules\n'));
const app: ContextSelection = { sources: ['app'], excludes: [], parents: false };
const all: ContextSelection = { sources: ['.'], excludes: [], parents: false };


async function digestOf(root: string, sel: ContextSelection = app): Promise<string> {
  const ctx = await BuildContext.open(root, { ignore });
  return (await ctx.hash(sel)).digest;
}

describe('BuildContext.hash', () => {
  it('is a sha256 over the selection with one record per entry', async () => {
    const root = makeTree(tree);
    const ctx = await BuildContext.open(root, { ignore });
    const d = await ctx.hash(app);
    expect(d.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(d.files.map((f) => f.path)).toEqual(['app/bin', 'app/bin/run', 'app/lib', 'app/lib/util.js', 'app/link', 'app/main.js']);
    for (const f of d.files) expect(f.digest).toMatch(/^xxh64:[0-9a-f]{16}$/);
    expect((await ctx.hash(all)).files.some((f) => f.path.startsWith('node_modules'))).toBe(false);
  });

  it('changes on content, mode, a new file and a symlink retarget', async () => {
    const root = makeTree(tree);
    const changes: Array<[string, () => void, () => void]> = [
      ['one byte, same size', () => writeFileSync(`${root}/app/main.js`, 'console.log(2)\n'), () => writeFileSync(`${root}/app/main.js`, tree['app/main.js'])],
      ['chmod', () => chmodSync(`${root}/app/bin/run`, 0o755), () => chmodSync(`${root}/app/bin/run`, 0o644)],
      ['setuid', () => chmodSync(`${root}/app/bin/run`, 0o4644), () => chmodSync(`${root}/app/bin/run`, 0o644)],
      ['dir mode', () => chmodSync(`${root}/app/lib`, 0o700), () => chmodSync(`${root}/app/lib`, 0o755)],
      ['new file', () => writeFileSync(`${root}/app/lib/new.js`, ''), () => unlinkSync(`${root}/app/lib/new.js`)],
      ['new empty dir', () => mkdirSync(`${root}/app/empty`), () => renameSync(`${root}/app/empty`, `${root}/other/empty`)],
      [
        'symlink retarget, same length',
        () => {
          unlinkSync(`${root}/app/link`);
          symlinkSync('main.jz', `${root}/app/link`);
        },
        () => {
          unlinkSync(`${root}/app/link`);
          symlinkSync('main.js', `${root}/app/link`);
        },
      ],
    ];
    chmodSync(`${root}/app/bin/run`, 0o644);
    chmodSync(`${root}/app/lib`, 0o755);
    const baseline = await digestOf(root);
    for (const [what, change, undo] of changes) {
      change();
      expect(await digestOf(root), what).not.toBe(baseline);
      undo();
      expect(await digestOf(root), `${what} undone`).toBe(baseline);
    }
  });

  it('does not change on mtime, nor on files outside the selection or ignored', async () => {
    const root = makeTree(tree);
    const before = await digestOf(root);
    utimesSync(`${root}/app/main.js`, new Date(0), new Date(0));
    writeFileSync(`${root}/node_modules/dep/new.js`, 'x');
    writeFileSync(`${root}/other/new`, 'x');
    expect(await digestOf(root)).toBe(before);
    // ...but the whole context (.) does see the unignored new file.
    expect(await digestOf(root, all)).not.toBe(await digestOf(makeTree(tree), all));
  });

  it('covers where files land: the same files under another layout differ', async () => {
    const root = makeTree(tree);
    const flat = await digestOf(root, { sources: ['app/lib/util.js'], excludes: [], parents: false });
    const parents = await digestOf(root, { sources: ['app/lib/util.js'], excludes: [], parents: true });
    expect(flat).not.toBe(parents);
  });

  it('hashes a file larger than one read chunk the same as its content', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    const a = makeTree({ 'f/x': '' });
    const b = makeTree({ 'f/x': '' });
    writeFileSync(`${a}/f/x`, big);
    big[big.length - 1] = 8;
    writeFileSync(`${b}/f/x`, big);
    expect(await digestOf(a, { sources: ['f'], excludes: [], parents: false })).not.toBe(
      await digestOf(b, { sources: ['f'], excludes: [], parents: false }),
    );
  });
});

describe('stat cache', () => {
  const settled = () => settledTree(tree);

  it('makes a warm hash read no file contents, and gives the same digest', async () => {
    const root = await settled();
    const persistence = filePersistence(`${makeTree({})}/statcache`);
    const cold = await BuildContext.open(root, { ignore, statCache: persistence });
    const d1 = await cold.hash(all);
    expect(cold.stats.filesHashed).toBe(4);
    expect(cold.stats.statCacheHits).toBe(0);
    await cold.hash(app);
    expect(cold.stats.filesHashed).toBe(4);
    expect(cold.stats.memoryHits).toBe(3);
    await cold.close();

    const warm = await BuildContext.open(root, { ignore, statCache: persistence });
    expect((await warm.hash(all)).digest).toBe(d1.digest);
    expect(warm.stats).toMatchObject({ filesHashed: 0, bytesHashed: 0, statCacheHits: 4 });
  });

  it('keeps entries whose paths are not ASCII: a warm hash of them reads no file either', async () => {
    const root = await settledTree({ 'ünï/日本.txt': 'a', 'ünï/ß€.md': 'b', 'plain.txt': 'c' });
    const persistence = filePersistence(`${makeTree({})}/statcache`);
    const cold = await BuildContext.open(root, { ignore, statCache: persistence });
    const d1 = await cold.hash(all);
    await cold.close();
    const warm = await BuildContext.open(root, { ignore, statCache: persistence });
    expect((await warm.hash(all)).digest).toBe(d1.digest);
    expect(warm.stats).toMatchObject({ filesHashed: 0, statCacheHits: 3 });
  });

  it('rehashes a file changed with the same size and mtime (new inode or ctime)', async () => {
    const root = await settled();
    const persistence = filePersistence(`${makeTree({})}/statcache`);
    const first = await BuildContext.open(root, { ignore, statCache: persistence });
    // No close(): hash() persists what it computed.
    const d1 = await first.hash(app);

    const file = `${root}/app/main.js`;
    const { atime, mtime } = statSync(file);
    writeFileSync(file, 'console.log(9)\n');
    utimesSync(file, atime, mtime);
    const second = await BuildContext.open(root, { ignore, statCache: persistence });
    const d2 = await second.hash(app);
    expect(d2.digest).not.toBe(d1.digest);
    expect(second.stats.filesHashed).toBe(1);
    expect(second.stats.statCacheHits).toBe(2);

    // Same again through a new inode: another file renamed over it, mtime copied.
    await sleep(150);
    const third = await BuildContext.open(root, { ignore, statCache: persistence });
    expect((await third.hash(app)).digest).toBe(d2.digest);
    writeFileSync(`${root}/other/swap`, 'console.log(7)\n');
    utimesSync(`${root}/other/swap`, atime, mtime);
    renameSync(`${root}/other/swap`, file);
    const fourth = await BuildContext.open(root, { ignore, statCache: persistence });
    expect((await fourth.hash(app)).digest).not.toBe(d2.digest);
    expect(fourth.stats.filesHashed).toBe(1);
  });

  it('drops entries of deleted files and ignores corrupt data', async () => {
    const root = await settled();
    const file = `${makeTree({})}/statcache`;
    const persistence = filePersistence(file);
    const first = await BuildContext.open(root, { ignore, statCache: persistence });
    await first.hash(all);
    await first.close();
    const full = readFileSync(file).length;
    unlinkSync(`${root}/other/readme`);
    const second = await BuildContext.open(root, { ignore, statCache: persistence });
    await second.hash(all);
    await second.close();
    expect(readFileSync(file).length).toBeLessThan(full);

    writeFileSync(file, Buffer.concat([readFileSync(file).subarray(0, 20), Buffer.from('garbage')]));
    const third = await BuildContext.open(root, { ignore, statCache: persistence });
    await third.hash(all);
    expect(third.stats.statCacheHits).toBe(0);
  });
});

describe.skipIf(!isRoot)(`ownership ${NEEDS_ROOT}`, () => {
  it('changes the digest on chown and reports uid/gid', async () => {
    const root = makeTree(tree);
    const before = await digestOf(root);
    chownSync(`${root}/app/main.js`, 1234, 5678);
    expect(await digestOf(root)).not.toBe(before);
    const ctx = await BuildContext.open(root, { ignore });
    expect((await ctx.select(app)).find((f) => f.relPath === 'app/main.js')).toMatchObject({ uid: 1234, gid: 5678 });
  });

  it('keeps its digest format: a pinned tree gives a pinned digest (cache keys depend on it)', async () => {
    // Quotes, backslashes and non-ASCII in names and in a symlink target: the JSON escaping.
    const pinned = makeTree({
      'src/a.txt': 'alpha\n',
      'src/q"uo\\te.txt': 'quote\n',
      'src/ünï/cödé.js': 'ü\n',
      'src/empty': null,
      'src/ln': { link: '../"x"/ü' },
    });
    for (const [rel, mode] of [['src', 0o755], ['src/a.txt', 0o644], ['src/q"uo\\te.txt', 0o600], ['src/ünï', 0o750], ['src/ünï/cödé.js', 0o755], ['src/empty', 0o700]] as const) {
      chmodSync(`${pinned}/${rel}`, mode);
      chownSync(`${pinned}/${rel}`, 0, 0);
    }
    const sel: ContextSelection = { sources: ['src'], excludes: [], parents: false };
    const ctx = await BuildContext.open(pinned, { ignore: new IgnoreMatcher([]) });
    expect((await ctx.hash(sel)).digest).toBe('sha256:008c949c7f7083e973e9358e45ee15818159e722f2c9367b27fbe9c07906fbdd');
  });
});

describe('BuildContext.digest and the stat cache record of a selection', () => {
  const open = (root: string, persistence: StatCachePersistence) => BuildContext.open(root, { ignore, statCache: persistence });

  it('gives the digest of a selection whose entries all look as they did, without a lookup per file', async () => {
    const root = await settledTree(tree);
    const persistence = filePersistence(`${makeTree({})}/statcache`);
    const first = await open(root, persistence);
    const d1 = await first.digest(all);
    expect(d1).toBe((await first.hash(all)).digest);
    expect(first.stats).toMatchObject({ filesHashed: 4, selectionHits: 0 });
    await first.close();

    const warm = await open(root, persistence);
    expect(await warm.digest(all)).toBe(d1);
    expect(warm.stats).toMatchObject({ filesHashed: 0, statCacheHits: 0, selectionHits: 1 });
    // Another selection has no record yet: its files come from the per-file entries.
    expect(await warm.digest(app)).toBe(await digestOf(root, app));
    expect(warm.stats).toMatchObject({ filesHashed: 0, statCacheHits: 3, selectionHits: 1 });
  });

  it('misses when any entry changed: content behind the same size and mtime, a rename, a retarget, a chmod', async () => {
    const root = makeTree(tree);
    const persistence = filePersistence(`${makeTree({})}/statcache`);
    const file = `${root}/app/main.js`;
    const changes: Array<[string, () => void]> = [
      [
        'content, size and mtime kept',
        () => {
          // touch -r copies the mtime to the nanosecond (utimesSync would round it).
          execFileSync('touch', ['-r', file, `${root}/other/readme`]);
          writeFileSync(file, 'console.log(3)\n');
          execFileSync('touch', ['-r', `${root}/other/readme`, file]);
        },
      ],
      ['rename', () => renameSync(`${root}/app/lib/util.js`, `${root}/app/lib/utik.js`)],
      [
        'symlink retarget',
        () => {
          unlinkSync(`${root}/app/link`);
          symlinkSync('main.jz', `${root}/app/link`);
        },
      ],
      ['dir mode', () => chmodSync(`${root}/app/lib`, 0o700)],
    ];
    for (const [what, change] of changes) {
      await sleep(150);
      const before = await open(root, persistence);
      const d = await before.digest(app);
      await before.close();
      expect(before.stats.selectionHits, `${what}: recorded by the build before`).toBe(what === changes[0]![0] ? 0 : 1);
      change();
      await sleep(150);
      const after = await open(root, persistence);
      const now = await after.digest(app);
      expect(after.stats.selectionHits, what).toBe(0);
      expect(now, what).not.toBe(d);
      expect(now, what).toBe(await digestOf(root, app));
      await after.close();
    }
  });

  it('keeps no record while a selected file changed too recently to trust its lstat', async () => {
    const root = makeTree(tree);
    const persistence = filePersistence(`${makeTree({})}/statcache`);
    await digestAndClose(open(root, persistence), app);
    const second = await open(root, persistence);
    await second.digest(app);
    expect(second.stats.selectionHits).toBe(0);
  });
});
