import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll } from 'vitest';
import type { BuildContext } from './build-context.ts';
import type { ContextSelection, StatCachePersistence } from './types.ts';

// The temp dirs makeTree made, removed once the importing test file is done.
const made: string[] = [];
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A new empty temp dir, removed after the test file. */
export function tempTree(prefix = 'tb-ctx-'): string {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}

/**
 * Test helper: writes a context tree. Keys are paths; a string value is file content, `null`
 * an empty directory, `{ link }` a symlink.
 */
export type Tree = Record<string, string | null | { link: string }>;

export function makeTree(tree: Tree, root = tempTree()): string {
  for (const [rel, v] of Object.entries(tree)) {
    const abs = path.join(root, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    if (v === null) mkdirSync(abs, { recursive: true });
    else if (typeof v === 'string') writeFileSync(abs, v);
    else symlinkSync(v.link, abs);
  }
  return root;
}

/** A real file-backed persistence, as the cache store would provide. */
export function filePersistence(file: string): StatCachePersistence {
  return {
    load: async () => {
      try {
        return readFileSync(file);
      } catch {
        return undefined;
      }
    },
    save: async (data) => writeFileSync(file, data),
  };
}

/** `makeTree`, then old enough to be trusted: files changed within the racy window (100 ms) are not kept by the stat cache. */
export async function settledTree(tree: Tree): Promise<string> {
  const root = makeTree(tree);
  await sleep(150);
  return root;
}

/** A build before the one under test: reads `sel`, then closes, leaving its stat cache. Its digest. */
export async function digestAndClose(opened: Promise<BuildContext>, sel: ContextSelection): Promise<string> {
  const ctx = await opened;
  const digest = await ctx.digest(sel);
  await ctx.close();
  return digest;
}
