import fsSync, { type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { noSpaceError } from '../errors.ts';

export function isErrno(e: unknown, ...codes: string[]): e is NodeJS.ErrnoException {
  return typeof e === 'object' && e !== null && codes.includes((e as NodeJS.ErrnoException).code ?? '');
}

/** Makes a rename or link in `dir` durable; after a crash the entry is either there or not. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `data` to `tmp` and fsyncs it; the caller renames or links it into place. */
export async function writeDurable(tmp: string, data: Buffer | string, mode = 0o644): Promise<void> {
  try {
    const fh = await fs.open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (e) {
    // Temp files live in <root>/tmp.
    throw noSpaceError(e, path.dirname(path.dirname(tmp)));
  }
}

/** Replace-or-create `dest` atomically (readers see the old or the new content, never a mix). */
export async function atomicReplace(tmp: string, dest: string, data: Buffer | string): Promise<void> {
  try {
    await writeDurable(tmp, data);
    await fs.rename(tmp, dest);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(path.dirname(dest));
}

/**
 * Create `dest` only if it does not exist (link(2) fails with EEXIST, unlike rename).
 * Returns false when another writer got there first.
 */
export async function atomicCreate(tmp: string, dest: string, data: Buffer | string, opts: { durable?: boolean } = {}): Promise<boolean> {
  const durable = opts.durable ?? true;
  try {
    if (durable) await writeDurable(tmp, data);
    else await fs.writeFile(tmp, data, { flag: 'wx', mode: 0o644 });
    await fs.link(tmp, dest);
    if (durable) await fsyncDir(path.dirname(dest));
    return true;
  } catch (e) {
    if (isErrno(e, 'EEXIST')) return false;
    throw e;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

/**
 * The file's bytes, or undefined when there is none. For the store's small records (steps, refs,
 * documents): read synchronously, since each of Node.js's asynchronous reads is four trips through
 * its thread pool (open, fstat, read, close), ~0.2 ms against ~0.03 ms here, and a warm build makes
 * dozens of them in a row. A page-cache read blocks the event loop for microseconds.
 */
export async function readIfExists(file: string): Promise<Buffer | undefined> {
  try {
    return fsSync.readFileSync(file);
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) return undefined;
    throw e;
  }
}

/** A directory's names, or none when it cannot be listed; synchronously, as readIfExists reads. */
export function listOrEmpty(dir: string): string[] {
  try {
    return fsSync.readdirSync(dir);
  } catch {
    return [];
  }
}

/** Mount points at or below `dir`, from /proc/self/mountinfo (octal escapes decoded). */
export async function mountsUnder(dir: string): Promise<string[]> {
  let info: string;
  try {
    info = await fs.readFile('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of info.split('\n')) {
    const mp = line.split(' ')[4];
    if (!mp) continue;
    const decoded = mp.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (decoded === dir || decoded.startsWith(dir + '/')) out.push(decoded);
  }
  return out;
}

/** Every regular file under `p` with its lstat (no symlink following); nothing if missing. */
export async function* regularFilesUnder(p: string): AsyncGenerator<Stats> {
  const stack = [p];
  while (stack.length) {
    const cur = stack.pop()!;
    const st = await fs.lstat(cur).catch(() => undefined);
    if (!st) continue;
    if (st.isDirectory()) {
      for (const name of await fs.readdir(cur).catch(() => [] as string[])) stack.push(path.join(cur, name));
    } else if (st.isFile()) {
      yield st;
    }
  }
}

/**
 * Total bytes of regular files under `p`; 0 if missing. With `seen`, each inode counts once
 * across every call that shares the set (hard links, snapshots that share files).
 */
export async function diskUsage(p: string, seen?: Set<string>): Promise<number> {
  let total = 0;
  for await (const st of regularFilesUnder(p)) {
    if (seen) {
      const id = `${st.dev}:${st.ino}`;
      if (seen.has(id)) continue;
      seen.add(id);
    }
    total += st.size;
  }
  return total;
}
