import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { cacheError } from '../errors.ts';

/**
 * An exclusive cross-process lock on `file`. Node.js has no flock binding, so `flock(1)`
 * (util-linux, Essential in Debian) takes it on a descriptor this process opened and passes
 * down: flock locks belong to the open file description, so the lock outlives the short-lived
 * child and is held until this process closes the descriptor, or dies, even by SIGKILL. A stale
 * lock of a dead process never blocks anyone. Resolves once the lock is held; the returned
 * function releases it.
 *
 * One exec per lock and none to release: a helper that held the lock by staying alive (flock
 * + sh + cat) cost ~100 ms of every build on a machine with slow process creation.
 */
export async function acquireFileLock(file: string): Promise<() => Promise<void>> {
  const handle = await fs.open(file, 'a', 0o600);
  try {
    if (!(await fastLock?.(handle.fd).catch(() => false))) await flockOnce(file, handle.fd);
  } catch (e) {
    await handle.close();
    throw e;
  }
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    await handle.close();
  };
}

let fastLock: ((fd: number) => Promise<boolean>) | undefined;

/**
 * A way to take the lock on this process's descriptor without the exec: the executor's sys
 * helper, a small process already running, takes it through pidfd_getfd(2). An exec of
 * flock(1) is a fork of this whole process (~13 ms of the main thread for ~70 MB here, on the
 * way to a rerun COPY's first file). `lock` resolves false when it did not take the lock.
 */
export function useFastLock(lock: (fd: number) => Promise<boolean>): void {
  fastLock = lock;
}

function flockOnce(file: string, fd: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn('flock', ['-x', '3'], { stdio: ['ignore', 'ignore', 'pipe', fd], env: { PATH: '/usr/bin:/bin' } });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', (e) =>
      reject(cacheError('TB_CACHE_IO', `cannot run flock to lock ${file}`, { hint: 'install Debian package util-linux', cause: e })),
    );
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`flock exited (${code}) before taking ${file}: ${err.trim()}`))));
  });
}
