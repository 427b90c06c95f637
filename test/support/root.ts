import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';

/** Tests that need root (runc, overlay mounts, chown) skip with this reason when not root; CI runs as root. */
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
export const NEEDS_ROOT = 'needs root (runc, overlayfs, chown): CI runs as root';

export function hasCommand(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin').split(':')) {
    try {
      fs.accessSync(path.join(dir, cmd), fs.constants.X_OK);
      return true;
    } catch {
      /* keep looking */
    }
  }
  return false;
}

/** A fresh temporary directory under the OS temp dir, removed by the returned cleanup. */
export function tempDir(prefix = 'tbuild-test-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * For a test file: a maker of temporary directories under the OS temp dir, each removed once the
 * test that made it is done.
 */
export function tempDirMaker(prefix = 'tbuild-test-'): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
}
