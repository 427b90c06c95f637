import fs from 'node:fs';
import type { XXHashAPI } from 'xxhash-wasm';
import { unreadable } from './errors.ts';
import { monotonicMs, type Yielder } from './context-fs.ts';

export interface HashJob {
  rel: string;
  abs: string;
  done(hash: bigint, bytes: number): void;
}

const CHUNK = 1 << 20;
/** Files per probe before deciding whether the disk (not the CPU) is the bottleneck. */
const PROBE = 64;
/** Above this average per file the page cache is cold: overlap I/O with an async pool. */
const SLOW_FILE_MS = 0.25;
const POOL = 16;

/**
 * Hashes file contents with xxh64. Reads are synchronous while files come from the page cache
 * (20k small files: ~130 ms sync vs 230-700 ms through libuv's pool); when the first files
 * show the disk is slow, the rest go through a bounded async pool so reads overlap
 * (cold cache: ~1.1 s vs ~1.8 s sync).
 */
export class ContentHasher {
  private readonly buf = Buffer.allocUnsafe(CHUNK);

  /** `slowFileMs`: override of the cold-cache threshold (tests force the async path with 0). */
  constructor(
    private readonly xx: XXHashAPI,
    private readonly slowFileMs = SLOW_FILE_MS,
  ) {}

  async hashAll(jobs: HashJob[], yielder: Yielder): Promise<void> {
    let i = 0;
    const t0 = monotonicMs();
    for (; i < jobs.length && i < PROBE; i++) this.run(jobs[i]!);
    const slow = i > 0 && (monotonicMs() - t0) / i >= this.slowFileMs;
    if (slow && jobs.length - i > POOL) {
      let next = i;
      await Promise.all(
        Array.from({ length: POOL }, async () => {
          const buf = Buffer.allocUnsafe(256 * 1024);
          while (next < jobs.length) await this.runAsync(jobs[next++]!, buf);
        }),
      );
      return;
    }
    for (; i < jobs.length; i++) {
      if (yielder.due()) await yielder.yield();
      this.run(jobs[i]!);
    }
  }

  private run(job: HashJob): void {
    let hash: bigint;
    let total = 0;
    let fd: number | undefined;
    // Only file-system failures become BuildErrors; anything else is a tbuild bug.
    try {
      fd = fs.openSync(job.abs, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      let n = fs.readSync(fd, this.buf, 0, CHUNK, null);
      if (n < CHUNK) {
        hash = this.xx.h64Raw(this.buf.subarray(0, n));
        total = n;
      } else {
        const h = this.xx.create64();
        while (n > 0) {
          h.update(this.buf.subarray(0, n));
          total += n;
          n = fs.readSync(fd, this.buf, 0, CHUNK, null);
        }
        hash = h.digest();
      }
    } catch (e) {
      throw unreadable(job.rel, e);
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
    job.done(hash, total);
  }

  private async runAsync(job: HashJob, buf: Buffer): Promise<void> {
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(job.abs, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    } catch (e) {
      throw unreadable(job.rel, e);
    }
    const h = this.xx.create64();
    let total = 0;
    try {
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        h.update(buf.subarray(0, bytesRead));
        total += bytesRead;
      }
    } catch (e) {
      throw unreadable(job.rel, e);
    } finally {
      await fh.close();
    }
    job.done(h.digest(), total);
  }
}
