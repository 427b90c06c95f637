import { Store } from '@tbuild/cache';
import { busyboxImage, type BusyboxImage } from './services.ts';
import { tempDir } from './root.ts';

/** A fresh store holding the busybox base image as `busybox:latest`. */
export async function seededStore(): Promise<{ root: string; store: Store; base: BusyboxImage; cleanup: () => void }> {
  const t = tempDir('tbuild-store-');
  const store = await Store.open(t.dir);
  const base = await busyboxImage(store);
  return { root: t.dir, store, base, cleanup: t.cleanup };
}

/** Mounts under `dir` that are still mounted: a build must leave none behind. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const { readFile } = await import('node:fs/promises');
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(dir + '/'));
}
