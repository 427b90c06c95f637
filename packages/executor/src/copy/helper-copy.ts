import fsSync from 'node:fs';
import { canCopyThroughHelper, copyThroughHelper } from '../snapshot/sys-helper.ts';
import { copySmall, cutMtimeMs, setMeta, type SmallCopied, type SmallCopy } from './copy-pool.ts';

/** Files per request: the helper answers nothing else meanwhile (a parallel step's mount, runc's start). */
const BATCH = 128;

/**
 * Small files copied by tbuild-sys (native/sys.c), many per request: it makes a file with a
 * few syscalls and nothing else, where copySmall on this thread also pays for JavaScript, a
 * Buffer, Stats and an xattr list through N-API per file (copyFiles of 301 files with their
 * xattrs and nanosecond times into ext4: 30-43 ms, 22-24 ms through the helper). It writes
 * exactly what copySmall writes, times to the nanosecond included, and with `keep` also the
 * xattrs and the source's nanosecond mtime (a result's `attrsDone`). A file it could not copy
 * is copied here, so its error is the one copySmall gives.
 */
export class HelperCopier {
  readonly #max: number;
  readonly #keep: boolean;
  #queue: Array<{ job: SmallCopy; settle: (r: Promise<SmallCopied | undefined> | SmallCopied | undefined) => void }> = [];

  constructor(max: number, keep: boolean) {
    this.#max = max;
    this.#keep = keep;
  }

  /** The copy of `job.src` (`job.ns` is this copier's `keep`); undefined when it is not a small regular file now. */
  copy(job: SmallCopy): Promise<SmallCopied | undefined> {
    return new Promise<SmallCopied | undefined>((settle) => {
      // After the caller's microtasks: every file whose directory is ready goes in one request.
      if (this.#queue.push({ job, settle }) === 1) setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    const all = this.#queue;
    this.#queue = [];
    for (let i = 0; i < all.length; i += BATCH) {
      const batch = all.slice(i, i + BATCH);
      const jobs = batch.map(({ job }) => job);
      const answer = copyThroughHelper({ op: 'copy', max: this.#max, keep: this.#keep, jobs }) ?? Promise.resolve(undefined);
      void answer.then((items) => batch.forEach(({ job, settle }, k) => settle(this.#outcome(job, items?.[k]))));
    }
  }

  #outcome(job: SmallCopy, item: string | undefined): Promise<SmallCopied | undefined> | SmallCopied | undefined {
    if (item === '-') return undefined;
    const done = item !== undefined && item !== '!' ? parseItem(item, job.mode) : undefined;
    if (done) return done;
    // Not copied (the helper failed on it, or is gone): here, which throws what went wrong.
    return new Promise((resolve) => resolve(copySmall(fsSync, job, this.#max, setMeta, cutMtimeMs)));
  }
}

/** `SIZE,UID,GID,MTIMEMS[,DEV,INO]`: what the helper wrote (the mode is the one asked for). */
function parseItem(item: string, mode: number): SmallCopied | undefined {
  const [size, uid, gid, mtimeMs, dev, ino] = item.split(',').map(Number);
  if ([size, uid, gid, mtimeMs].some((n) => !Number.isSafeInteger(n))) return undefined;
  const done = { size: size!, applied: { uid: uid!, gid: gid!, mode, mtimeMs: mtimeMs! }, attrsDone: true as const };
  return dev !== undefined ? { ...done, inode: `${dev}:${ino}` } : done;
}

/** A copier for a copy's small files when the process's helper is tbuild-sys; else undefined. */
export function helperCopier(max: number, keep: boolean): HelperCopier | undefined {
  return canCopyThroughHelper() ? new HelperCopier(max, keep) : undefined;
}
