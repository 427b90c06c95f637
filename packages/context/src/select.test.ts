import { chmodSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BuildError } from '@tbuild/errors';
import { BuildContext, IgnoreMatcher, parseDockerignore } from './index.ts';
import type { ContextSelection, SelectedFile } from './index.ts';
import { makeTree } from './test-support.ts';
import type { Tree } from './test-support.ts';

const base: Tree = {
  'a.txt': 'a',
  'b.txt': 'b',
  'README.md': 'readme',
  'src/main.ts': 'main',
  'src/util/x.ts': 'x',
  'src/util/y.md': 'y',
  'src/empty': null,
  'dir1/one': '1',
  'dir2/two': '2',
  'docs/README.md': 'docs',
  'docs/guide.md': 'guide',
};

async function open(tree: Tree, ignore: string[] = []): Promise<BuildContext> {
  return BuildContext.open(makeTree(tree), { ignore: new IgnoreMatcher(parseDockerignore(ignore.join('\n'))) });
}

function sel(sources: string[], more: Partial<ContextSelection> = {}): ContextSelection {
  return { sources, excludes: [], parents: false, ...more };
}

function dests(files: SelectedFile[]): string[] {
  return files.map((f) => `${f.destRel}${f.type === 'dir' ? '/' : f.type === 'symlink' ? '@' : ''}`);
}

async function errorOf(p: Promise<unknown>): Promise<BuildError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof BuildError) return e;
    throw e;
  }
  throw new Error('expected a BuildError');
}

describe('BuildContext.select: Docker COPY source rules', () => {
  it('copies the contents of a directory source, with or without a trailing slash', async () => {
    const ctx = await open(base);
    const want = ['empty/', 'main.ts', 'util/', 'util/x.ts', 'util/y.md'];
    expect(dests(await ctx.select(sel(['src'])))).toEqual(want);
    expect(dests(await ctx.select(sel(['src/'])))).toEqual(want);
    expect(dests(await ctx.select(sel(['./src/./'])))).toEqual(want);
    const main = (await ctx.select(sel(['src'])))[1]!;
    expect(main).toMatchObject({ source: 'src', relPath: 'src/main.ts', destRel: 'main.ts', type: 'file', size: 4 });
    expect(main.absPath).toBe(`${ctx.root}/src/main.ts`);
  });

  it('keeps the base name of a file source', async () => {
    const ctx = await open(base);
    expect(await ctx.select(sel(['src/util/x.ts']))).toMatchObject([{ relPath: 'src/util/x.ts', destRel: 'x.ts' }]);
  });

  it('matches wildcards per path component and merges the contents of matched directories', async () => {
    const ctx = await open(base);
    expect(dests(await ctx.select(sel(['*.txt'])))).toEqual(['a.txt', 'b.txt']);
    expect(dests(await ctx.select(sel(['src/*/?.ts'])))).toEqual(['x.ts']);
    expect(dests(await ctx.select(sel(['dir[12]'])))).toEqual(['one', 'two']);
    expect(dests(await ctx.select(sel(['*.nothing'])))).toEqual([]);
  });

  it('reports a malformed wildcard instead of silently matching nothing', async () => {
    const ctx = await open(base);
    expect((await errorOf(ctx.select(sel(['src/[a-'])))).code).toBe('TB_CONTEXT_BAD_PATTERN');
  });

  it('applies --exclude below each source, and a dir match removes its subtree', async () => {
    const ctx = await open(base);
    expect(dests(await ctx.select(sel(['src'], { excludes: ['*.md', '**/*.md'] })))).toEqual(['empty/', 'main.ts', 'util/', 'util/x.ts']);
    expect(dests(await ctx.select(sel(['src'], { excludes: ['util'] })))).toEqual(['empty/', 'main.ts']);
    // A directory whose files are all excluded is still created, as BuildKit's copier does.
    expect(dests(await ctx.select(sel(['.'], { excludes: ['*/*.md', '*.txt', 'dir*'] })))).toEqual([
      'README.md',
      'docs/',
      'src/',
      'src/empty/',
      'src/main.ts',
      'src/util/',
      'src/util/x.ts',
      'src/util/y.md',
    ]);
  });

  it('keeps the full path with --parents, below an optional /./ pivot, creating parent dirs', async () => {
    const ctx = await open(base);
    expect(dests(await ctx.select(sel(['src/util/x.ts'], { parents: true })))).toEqual(['src/', 'src/util/', 'src/util/x.ts']);
    expect(dests(await ctx.select(sel(['src/./util/x.ts'], { parents: true })))).toEqual(['util/', 'util/x.ts']);
    expect(dests(await ctx.select(sel(['**/*.md'], { parents: true })))).toEqual([
      'README.md',
      'docs/',
      'docs/README.md',
      'docs/guide.md',
      'src/',
      'src/util/',
      'src/util/y.md',
    ]);
    const missing = await errorOf(ctx.select(sel(['src/nope.ts'], { parents: true })));
    expect(missing.message).toBe('failed to compute cache key: "/src/nope.ts": not found');
  });

  it('reports a missing source with BuildKit wording and a suggestion', async () => {
    const ctx = await open(base);
    const err = await errorOf(ctx.select(sel(['missing'])));
    expect(err.code).toBe('TB_CONTEXT_SOURCE_NOT_FOUND');
    expect(err.message).toBe('failed to compute cache key: "/missing": not found');
    expect((await errorOf(ctx.select(sel(['scr/main.ts'])))).hint).toBe('did you mean "src"?');
    expect((await errorOf(ctx.select(sel(['a.txt/x'])))).message).toBe('failed to compute cache key: "/a.txt/x": not found');
  });

  it('never leaves the context root through .., absolute paths or symlinks', async () => {
    const outside = makeTree({ canary: 'host secret', 'etc/passwd': 'host passwd' });
    const ctx = await open({
      ...base,
      'link-etc': { link: '/etc' },
      'link-up': { link: '../../../../' },
      'link-canary': { link: `${outside}/canary` },
      'link-rel-out': { link: '../canary' },
      'inner/link-a': { link: '../a.txt' },
    });
    for (const src of ['../canary', '/canary', '../../etc/passwd', 'link-etc/passwd', 'link-canary', 'link-rel-out']) {
      const err = await errorOf(ctx.select(sel([src])));
      expect(err.code).toBe('TB_CONTEXT_SOURCE_NOT_FOUND');
    }
    expect((await errorOf(ctx.select(sel(['/a/../../canary'])))).message).toBe('failed to compute cache key: "/canary": not found');
    // `..` clamps at the root: the link resolves to the context itself.
    const up = await ctx.select(sel(['link-up/']));
    expect(dests(up)).toContain('a.txt');
    for (const f of up) expect(f.absPath.startsWith(ctx.root + '/')).toBe(true);
    // A source that is a symlink inside the context is dereferenced but keeps its own name.
    expect(await ctx.select(sel(['inner/link-a']))).toMatchObject([{ relPath: 'a.txt', destRel: 'link-a', type: 'file' }]);
    expect(await ctx.select(sel(['inner/link-a'], { followSymlinks: false }))).toMatchObject([
      { relPath: 'inner/link-a', destRel: 'link-a', type: 'symlink', linkTarget: '../a.txt' },
    ]);
    // Symlinks inside a copied directory are copied as symlinks, never followed.
    expect((await ctx.select(sel(['.']))).find((f) => f.relPath === 'link-etc')).toMatchObject({ type: 'symlink', linkTarget: '/etc' });
  });

  it('reports a symlink loop as an error, not a hang', async () => {
    const ctx = await open({ loop1: { link: 'loop2' }, loop2: { link: 'loop1' } });
    expect((await errorOf(ctx.select(sel(['loop1/x'])))).code).toBe('TB_CONTEXT_TOO_MANY_SYMLINKS');
  });

  it('never selects .dockerignore’d paths, and ! exceptions bring files back', async () => {
    const ctx = await open({ ...base, '.env': 'SECRET', 'link-env': { link: '.env' } }, ['.env', 'docs', '!docs/README.md', 'src/util']);
    const all = dests(await ctx.select(sel(['.'])));
    expect(all).not.toContain('.env');
    expect(all).toContain('link-env@');
    expect(all.filter((d) => d.startsWith('docs'))).toEqual(['docs/', 'docs/README.md']);
    expect(all.filter((d) => d.startsWith('src'))).toEqual(['src/', 'src/empty/', 'src/main.ts']);
    const err = await errorOf(ctx.select(sel(['.env'])));
    expect(err.message).toBe('failed to compute cache key: "/.env": not found');
    expect(err.hint).toContain('.dockerignore');
    // A path to an ignored file through a symlink is just as absent.
    expect((await errorOf(ctx.select(sel(['link-env'])))).code).toBe('TB_CONTEXT_SOURCE_NOT_FOUND');
    expect((await errorOf(ctx.select(sel(['src/util/x.ts'])))).code).toBe('TB_CONTEXT_SOURCE_NOT_FOUND');
    expect(dests(await ctx.select(sel(['docs'])))).toEqual(['README.md']);
    expect(dests(await ctx.select(sel(['*.env', '.e*'])))).toEqual([]);
  });

  it('does not read directories that .dockerignore excludes whole', async () => {
    const deps = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`node_modules/dep${i}/index.js`, 'x']));
    const ctx = await open({ ...base, ...deps }, ['node_modules', '!other/keep.txt']);
    const all = await ctx.select(sel(['.']));
    expect(all.some((f) => f.relPath.startsWith('node_modules'))).toBe(false);
    expect(ctx.stats.lstatCalls).toBeLessThan(30);
  });

  it('lets .dockerignore exclude the Dockerfile and itself from COPY, as Docker does', async () => {
    const ctx = await open({ ...base, Dockerfile: 'FROM scratch\n', '.dockerignore': 'Dockerfile\n.dockerignore\n' }, [
      'Dockerfile',
      '.dockerignore',
    ]);
    const all = dests(await ctx.select(sel(['.'])));
    expect(all).not.toContain('Dockerfile');
    expect(all).not.toContain('.dockerignore');
    expect(all).toContain('a.txt');
  });

  it('reports permission bits including setuid and sticky', async () => {
    const root = makeTree({ 'bin/tool': '#!/bin/sh\n', 'tmp/': null });
    chmodSync(`${root}/bin/tool`, 0o4755);
    chmodSync(`${root}/tmp`, 0o1777);
    const ctx = await BuildContext.open(root, { ignore: IgnoreMatcher.none() });
    const files = await ctx.select(sel(['.']));
    expect(files.find((f) => f.relPath === 'bin/tool')?.mode).toBe(0o4755);
    expect(files.find((f) => f.relPath === 'tmp')?.mode).toBe(0o1777);
  });

  it('walks a 1000-deep directory chain without overflowing the stack', async () => {
    const deep = Array.from({ length: 1000 }, () => 'd').join('/');
    const ctx = await open({ [`${deep}/leaf`]: 'x' });
    const files = await ctx.select(sel(['.']));
    expect(files.length).toBe(1001);
    expect(files.at(-1)?.destRel).toBe(`${deep}/leaf`);
  });
});
