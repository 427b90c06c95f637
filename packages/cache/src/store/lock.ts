import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { cacheError } from '../errors.ts';

/**
 * An exclusive cross-process lock on `file`, held by a `flock(1)` child (util-linux, Essential
 * in Debian) because Node.js has no flock binding. The kernel owns the lock: when this process
 * dies, even by SIGKILL, the child's stdin reaches EOF, the child exits and the lock is gone, so
 * a stale lock of a dead process never blocks anyone. Resolves once the lock is held; the
 * returned function releases it.
 */
export async function acquireFileLock(file: string): Promise<() => Promise<void>> {
  await fs.writeFile(file, '', { flag: 'a', mode: 0o600 });
  const child = spawn('flock', ['-x', file, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'ignore'],
    env: { PATH: '/usr/bin:/bin' },
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('locked')) resolve();
    });
    child.once('error', (e) =>
      reject(cacheError('TB_CACHE_IO', `cannot run flock to lock ${file}`, { hint: 'install Debian package util-linux', cause: e })),
    );
    child.once('close', (code) => reject(new Error(`flock exited (${code}) before taking ${file}`)));
  });
  // A held lock must not keep the event loop alive on its own.
  child.unref();
  (child.stdin as unknown as { unref(): void }).unref();
  (child.stdout as unknown as { unref(): void }).unref();
  child.stdin.on('error', () => {});
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    child.ref();
    (child.stdout as unknown as { ref(): void }).ref();
    child.stdin.end();
    await exited;
  };
}
