import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

export const hasCc = spawnSync('cc', ['--version']).status === 0;

let built: string | undefined;

// Registered as the importing test file is collected: its worker may never emit 'exit'.
afterAll(() => {
  if (built) fs.rmSync(path.dirname(built), { recursive: true, force: true });
  built = undefined;
});

/**
 * tbuild-sys as `pnpm build` compiles it beside the bundle (native/sys.c), here once per test
 * file into a temp dir, with warnings as errors. Needs a C compiler (hasCc).
 */
export function nativeSysHelper(): string {
  if (built) return built;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-sys-bin-'));
  const out = path.join(dir, 'tbuild-sys');
  const cc = spawnSync('cc', ['-O2', '-Wall', '-Werror', '-o', out, path.join(import.meta.dirname, '../native/sys.c')], { encoding: 'utf8' });
  if (cc.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`cc failed: ${cc.stderr}`);
  }
  built = out;
  return out;
}
