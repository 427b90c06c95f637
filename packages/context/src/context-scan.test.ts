import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ContextFs, entryStat, Yielder } from './context-fs.ts';
import { ContextScan } from './context-scan.ts';
import { BuildContext, IgnoreMatcher, parseDockerignore } from './index.ts';
import type { ContextSelection, StatCachePersistence } from './index.ts';
import { selectFiles } from './select.ts';
import { digestAndClose, filePersistence, makeTree, settledTree, tempTree } from './test-support.ts';

const hasCc = spawnSync('cc', ['--version']).status === 0;
const tree = {
  'app/main.js': 'console.log(1)\n',
  'app/lib/util.js': 'export const x = 1;\n',
  'app/lib/deep/er/est.txt': 'deep\n',
  'app/ünï/cödé.js': 'ü\n',
  'app/link': { link: 'main.js' },
  'app/dangling': { link: '../nowhere' },
  'app/empty': null,
  'node_modules/dep/index.js': 'dep\n',
  'other/readme': 'other\n',
};
const app: ContextSelection = { sources: ['app'], excludes: [], parents: false };
const all: ContextSelection = { sources: ['.'], excludes: [], parents: false };
const ignore = new IgnoreMatcher(parseDockerignore('node_modules\n'));


describe.skipIf(!hasCc)('tbuild-scan (needs a C compiler, as `pnpm build`)', () => {
  const scanner = path.join(tempTree('tb-scanner-'), 'tbuild-scan');
  beforeAll(() => {
    execFileSync('cc', ['-O2', '-Wall', '-o', scanner, fileURLToPath(new URL('../native/scan.c', import.meta.url))]);
  });
  const withScanner = { path: scanner, minStatCacheBytes: 0 };

  it('lists and lstats every entry as Node.js does', async () => {
    const root = makeTree(tree);
    execFileSync('mkfifo', [`${root}/other/fifo`]);
    chmodSync(`${root}/app/main.js`, 0o4755);
    const scan = (await ContextScan.run(scanner, root))!;
    expect(scan.whole).toBe(true);
    const fromScan = new ContextFs(root);
    fromScan.useScan(scan);
    const fromDisk = new ContextFs(root);
    const walk = (rel: string): void => {
      const names = fromDisk.readdir(rel);
      expect(fromScan.readdir(rel), rel).toEqual(names);
      expect(names).toEqual(readdirSync(fromDisk.abs(rel)).sort());
      for (const name of names) {
        const r = rel === '' ? name : `${rel}/${name}`;
        const st = lstatSync(fromDisk.abs(r));
        expect(fromScan.lstat(r), r).toEqual(entryStat(st.mode, st.uid, st.gid, st.size, st.ino, st.mtimeMs, st.ctimeMs));
        if (st.isSymbolicLink()) expect(fromScan.readlink(r)).toBe(readlinkSync(fromDisk.abs(r)));
        if (st.isDirectory()) walk(r);
      }
    };
    walk('');
    // Everything but the root came from the scan.
    expect(fromScan.lstatCalls).toBe(1);
  });

  const sels: ContextSelection[] = [app, all, { sources: ['app/l*'], excludes: ['**/est.txt'], parents: false }];

  it('gives the same selections and digests as reading the disk', async () => {
    const root = makeTree(tree);
    const plain = await BuildContext.open(root, { ignore });
    const ctx = await BuildContext.open(root, { ignore, scanner: withScanner, statCache: filePersistence(`${tempTree()}/sc`) });
    for (const sel of sels) {
      expect(await ctx.select(sel)).toEqual(await plain.select(sel));
      expect(await ctx.hash(sel)).toEqual(await plain.hash(sel));
    }
    expect(ctx.stats.lstatCalls).toBeLessThan(3);
  });

  it('reads from the disk what a scan cut short did not list', async () => {
    const root = makeTree(tree);
    const scan = (await ContextScan.run(scanner, root, { maxEntries: 5 }))!;
    expect(scan.whole).toBe(false);
    const fs = new ContextFs(root);
    fs.useScan(scan);
    const env = () => ({ ignore, yielder: new Yielder(), ignoreStates: new Map() });
    for (const sel of sels) expect(await selectFiles({ ...env(), fs }, sel)).toEqual(await selectFiles({ ...env(), fs: new ContextFs(root) }, sel));
    expect(fs.lstatCalls).toBeGreaterThan(3);
  });

  it('is not whole when a directory path is too long to list (PATH_MAX)', async () => {
    const root = makeTree({ 'a.txt': 'a\n' });
    try {
      // 17 directories of 250-byte names: deeper than a path the scanner can name.
      execFileSync('bash', ['-c', 'cd "$1" && n=$(printf "d%.0s" $(seq 250)) && for i in $(seq 17); do mkdir "$n" && cd "$n"; done && echo x > f', 'bash', root]);
      const scan = (await ContextScan.run(scanner, root))!;
      expect(scan.whole).toBe(false);
    } finally {
      // fs.rmSync cannot name files this deep; rm(1) walks down with openat.
      execFileSync('rm', ['-rf', root]);
    }
  });

  it('rejects output that is malformed or cut short', async () => {
    const root = makeTree(tree);
    const good = execFileSync(scanner, [root]);
    expect(ContextScan.parse(good)).toBeDefined();
    expect(ContextScan.parse(good.subarray(0, good.length - 2))).toBeUndefined();
    expect(ContextScan.parse(good.subarray(0, 40))).toBeUndefined();
    expect(ContextScan.parse(Buffer.concat([good, Buffer.of(0)]))).toBeUndefined();
    expect(await ContextScan.run(scanner, `${root}/missing`)).toBeUndefined();
  });

  describe('the stat cache record of the whole tree', () => {
    const open = (root: string, sc: StatCachePersistence, patterns = 'node_modules\n') =>
      BuildContext.open(root, { ignore: new IgnoreMatcher(parseDockerignore(patterns)), scanner: withScanner, statCache: sc });

    it('gives the digest without walking the context when nothing in it changed', async () => {
      const root = await settledTree(tree);
      const sc = filePersistence(`${tempTree()}/sc`);
      const d = await digestAndClose(open(root, sc), app);
      const warm = await open(root, sc);
      expect(await warm.digest(app)).toBe(d);
      expect(warm.stats).toMatchObject({ treeHits: 1, selectionHits: 0, lstatCalls: 0, filesHashed: 0 });
    });

    it('falls back to the selection when a file outside it changed, and to hashing when one inside did', async () => {
      const root = await settledTree(tree);
      const sc = filePersistence(`${tempTree()}/sc`);
      const d = await digestAndClose(open(root, sc), app);

      writeFileSync(`${root}/other/readme`, 'changed\n');
      await sleep(150);
      const outside = await open(root, sc);
      expect(await outside.digest(app)).toBe(d);
      expect(outside.stats).toMatchObject({ treeHits: 0, selectionHits: 1 });
      await outside.close();
      // ...which recorded the tree as it is now.
      const again = await open(root, sc);
      expect(await again.digest(app)).toBe(d);
      expect(again.stats).toMatchObject({ treeHits: 1 });

      // Same size, mtime copied to the nanosecond: the ctime still differs.
      const file = `${root}/app/lib/util.js`;
      execFileSync('touch', ['-r', file, `${root}/other/readme`]);
      writeFileSync(file, 'export const y = 2;\n');
      execFileSync('touch', ['-r', `${root}/other/readme`, file]);
      const inside = await open(root, sc);
      const now = await inside.digest(app);
      expect(inside.stats).toMatchObject({ treeHits: 0, selectionHits: 0, filesHashed: 1 });
      expect(now).not.toBe(d);
      expect(now).toBe((await (await BuildContext.open(root, { ignore })).hash(app)).digest);
    });

    it('leaves out what .dockerignore excludes whole: changes there do not count', async () => {
      const root = await settledTree(tree);
      const sc = filePersistence(`${tempTree()}/sc`);
      const d = await digestAndClose(open(root, sc), all);
      writeFileSync(`${root}/node_modules/dep/index.js`, 'changed\n');
      writeFileSync(`${root}/node_modules/dep/new.js`, 'new\n');
      const warm = await open(root, sc);
      expect(await warm.digest(all)).toBe(d);
      expect(warm.stats).toMatchObject({ treeHits: 1 });
      const scan = (await ContextScan.run(scanner, root, { skip: ignore.wholeDirs() }))!;
      expect(scan.whole).toBe(true);
      expect(scan.dir('node_modules')).toBeUndefined();
      expect(scan.dir('app/lib')).toBeDefined();
    });

    it('is not used across .dockerignore patterns, nor kept while an entry changed too recently', async () => {
      const root = await settledTree(tree);
      const sc = filePersistence(`${tempTree()}/sc`);
      await digestAndClose(open(root, sc), all);
      const other = await open(root, sc, 'node_modules\nother\n');
      await other.digest(all);
      expect(other.stats.treeHits).toBe(0);

      const fresh = makeTree(tree);
      const sc2 = filePersistence(`${tempTree()}/sc`);
      await digestAndClose(open(fresh, sc2), app);
      const b = await open(fresh, sc2);
      await b.digest(app);
      expect(b.stats.treeHits).toBe(0);
    });
  });
});
