import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import xxhash from 'xxhash-wasm';
import { ContentHasher } from './content-hasher.ts';
import type { HashJob } from './content-hasher.ts';
import { Yielder } from './context-fs.ts';
import { makeTree } from './test-support.ts';

async function hashWith(hasher: ContentHasher, root: string, names: string[]): Promise<Map<string, [bigint, number]>> {
  const out = new Map<string, [bigint, number]>();
  const jobs: HashJob[] = names.map((rel) => ({ rel, abs: `${root}/${rel}`, done: (h, n) => out.set(rel, [h, n]) }));
  await hasher.hashAll(jobs, new Yielder());
  return out;
}

describe('ContentHasher', () => {
  it('gives the same hashes on the synchronous and the async (cold disk) path', async () => {
    const names = Array.from({ length: 120 }, (_, i) => `f${i}`);
    const root = makeTree(Object.fromEntries(names.map((n, i) => [n, `content ${i}\n`.repeat(i)])));
    writeFileSync(`${root}/f119`, Buffer.alloc(2.5 * 1024 * 1024, 3));
    const xx = await xxhash();
    const sync = await hashWith(new ContentHasher(xx, Infinity), root, names);
    const pooled = await hashWith(new ContentHasher(xx, 0), root, names);
    expect(pooled).toEqual(sync);
    expect(sync.get('f3')).toEqual([xx.h64Raw(Buffer.from('content 3\n'.repeat(3))), 30]);
    expect(sync.get('f119')![1]).toBe(2.5 * 1024 * 1024);
  });

  it('refuses to follow a symlink swapped in for a selected file', async () => {
    const root = makeTree({ real: 'x', link: { link: 'real' } });
    const xx = await xxhash();
    await expect(hashWith(new ContentHasher(xx), root, ['link'])).rejects.toMatchObject({ code: 'TB_CONTEXT_UNREADABLE' });
  });
});
