import { mkdirSync, renameSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { BuildContext, ContextMemo, IgnoreMatcher, parseDockerignore } from './index.ts';
import type { ContextSelection } from './index.ts';
import { makeTree, settledTree } from './test-support.ts';

const ignore = new IgnoreMatcher(parseDockerignore('skip\n'));
const all: ContextSelection = { sources: ['.'], excludes: [], parents: false };
const src: ContextSelection = { sources: ['src'], excludes: ['src/gen'], parents: false };

/** A context whose files are old enough to be trusted. */
function settled(): Promise<string> {
  return settledTree({
    'src/a.js': 'a\n',
    'src/b.js': 'bb\n',
    'src/gen/x.js': 'x\n',
    'src/lib/c.js': 'ccc\n',
    'src/link': { link: 'a.js' },
    'skip/ignored': 'no\n',
    'README': 'readme\n',
  });
}

/** One build's reading of the context: the digests, and what came from the last build. */
async function build(root: string, memo: ContextMemo | undefined, sels = [all, src]) {
  const ctx = await BuildContext.open(root, { ignore, memo });
  const digests = [];
  for (const s of sels) digests.push((await ctx.hash(s)).digest);
  const files = (await ctx.select(all)).map((f) => f.relPath);
  const stats = ctx.stats;
  await ctx.close();
  // The memo is filled after close() returns, on the next turn of the event loop.
  await new Promise((r) => setImmediate(r));
  return { digests, files, stats };
}

describe('ContextMemo', () => {
  it('gives a second build every digest without reading a file or directory', async () => {
    const root = await settled();
    const memo = new ContextMemo();
    const first = await build(root, memo);
    expect(first.stats).toMatchObject({ recalled: 'none', filesHashed: 5 });
    const second = await build(root, memo);
    expect(second.digests).toEqual(first.digests);
    expect(second.files).toEqual(first.files);
    expect(second.stats).toMatchObject({ recalled: 'whole', filesHashed: 0, statCacheHits: 0 });
    // One lstat per entry the first build looked at, nothing else read again.
    expect(second.stats.lstatCalls).toBe(first.stats.lstatCalls);
  });

  it('sees a file changed to the same size and mtime', async () => {
    const root = await settled();
    const memo = new ContextMemo();
    await build(root, memo);
    const file = `${root}/src/b.js`;
    const before = statSync(file);
    writeFileSync(file, 'BB\n');
    utimesSync(file, before.atime, before.mtime);
    const after = await build(root, memo);
    expect(after.stats).toMatchObject({ recalled: 'partial', filesHashed: 1 });
    expect(after.digests).toEqual((await build(root, undefined)).digests);
  });

  it('lists a directory again once an entry is added, removed or renamed in it', async () => {
    const root = await settled();
    const memo = new ContextMemo();
    const first = await build(root, memo);
    writeFileSync(`${root}/src/lib/d.js`, 'd\n');
    unlinkSync(`${root}/src/a.js`);
    renameSync(`${root}/README`, `${root}/README.md`);
    const second = await build(root, memo);
    expect(second.stats.recalled).toBe('partial');
    expect(second.files).toContain('src/lib/d.js');
    expect(second.files).toContain('README.md');
    expect(second.files).not.toContain('src/a.js');
    expect(second.files).not.toContain('README');
    expect(second.digests).not.toEqual(first.digests);
    expect(second.digests).toEqual((await build(root, undefined)).digests);
  });

  it('stops looking for deleted files once their directory has been listed again', async () => {
    const root = await settled();
    const memo = new ContextMemo();
    const first = await build(root, memo);
    unlinkSync(`${root}/src/lib/c.js`);
    await sleep(150);
    await build(root, memo);
    const third = await build(root, memo);
    expect(third.stats.recalled).toBe('whole');
    expect(third.stats.lstatCalls).toBe(first.stats.lstatCalls - 1);
  });

  it('reads a symlink replaced by one with another target', async () => {
    const root = await settled();
    const memo = new ContextMemo();
    const first = await build(root, memo);
    unlinkSync(`${root}/src/link`);
    symlinkSync('b.js', `${root}/src/link`);
    const second = await build(root, memo);
    expect(second.digests[0]).not.toBe(first.digests[0]);
    expect(second.digests).toEqual((await build(root, undefined)).digests);
  });

  it('keeps nothing from files changed just before the build that read them', async () => {
    const root = await settled();
    const memo = new ContextMemo();
    writeFileSync(`${root}/src/fresh.js`, 'new\n');
    mkdirSync(`${root}/src/newdir`);
    await build(root, memo);
    // Nothing changed since, but the fresh file and its directory could have changed again
    // within one timestamp tick: they are read again, and no digest is reused whole.
    const second = await build(root, memo);
    expect(second.stats).toMatchObject({ recalled: 'partial', filesHashed: 1 });
    // Once a build has read them well after they changed, the next build reuses them.
    await sleep(150);
    const third = await build(root, memo);
    const fourth = await build(root, memo);
    expect(fourth.stats).toMatchObject({ recalled: 'whole', filesHashed: 0 });
    expect(third.digests).toEqual(second.digests);
    expect(fourth.digests).toEqual(second.digests);
  });

  it('is kept per .dockerignore, and for a few contexts at most', async () => {
    const roots = [await settled(), await settled(), await settled()];
    const memo = new ContextMemo(2);
    for (const root of roots) await build(root, memo);
    expect((await build(roots[0]!, memo)).stats.recalled).toBe('none');
    expect((await build(roots[2]!, memo)).stats.recalled).toBe('whole');
    const other = await BuildContext.open(roots[2]!, { ignore: IgnoreMatcher.none(), memo });
    expect(other.stats.recalled).toBe('none');
  });

  it('keeps no more entries than its budget, dropping the least recently built context first', async () => {
    const roots = [await settled(), await settled()];
    const entries = (await build(roots[0]!, new ContextMemo())).stats.lstatCalls;
    const memo = new ContextMemo(4, entries * 2 - 1);
    for (const root of roots) await build(root, memo);
    // Two contexts do not fit: the first is gone, the second stays.
    expect((await build(roots[1]!, memo)).stats.recalled).toBe('whole');
    expect((await build(roots[0]!, memo)).stats.recalled).toBe('none');
    // One context alone over the budget is not kept.
    const small = new ContextMemo(4, entries - 1);
    await build(roots[0]!, small);
    expect((await build(roots[0]!, small)).stats.recalled).toBe('none');
  });

  it('is not shared by two builds of one context at once', async () => {
    const root = await settled();
    const memo = new ContextMemo();
    await build(root, memo);
    const [a, b] = await Promise.all([BuildContext.open(root, { ignore, memo }), BuildContext.open(root, { ignore, memo })]);
    expect([a.stats.recalled, b.stats.recalled].sort()).toEqual(['none', 'whole']);
  });
});
