import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const hasCc = spawnSync('cc', ['--version']).status === 0;

let built: string | undefined;

/**
 * tbuild-sys as `pnpm build` compiles it beside the bundle (native/sys.c), here once per test
 * process into a temp dir, with warnings as errors. Needs a C compiler (hasCc).
 */
export function nativeSysHelper(): string {
  if (built) return built;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-sys-bin-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'tbuild-sys');
  const cc = spawnSync('cc', ['-O2', '-Wall', '-Werror', '-o', out, path.join(import.meta.dirname, '../native/sys.c')], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`cc failed: ${cc.stderr}`);
  built = out;
  return out;
}
