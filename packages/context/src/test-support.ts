import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Test helper: writes a context tree. Keys are paths; a string value is file content, `null`
 * an empty directory, `{ link }` a symlink.
 */
export type Tree = Record<string, string | null | { link: string }>;

export function makeTree(tree: Tree, root = mkdtempSync(path.join(os.tmpdir(), 'tb-ctx-'))): string {
  for (const [rel, v] of Object.entries(tree)) {
    const abs = path.join(root, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    if (v === null) mkdirSync(abs, { recursive: true });
    else if (typeof v === 'string') writeFileSync(abs, v);
    else symlinkSync(v.link, abs);
  }
  return root;
}
