import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { cacheError, noSpaceError } from '../errors.ts';

/**
 * Streams one blob into the store. Nothing is visible under blobs/ until commit() has checked
 * digest and size, fsynced and renamed the temp file into place; a crash leaves only a temp file
 * that the next Store.open removes. Identical concurrent writers both succeed (rename replaces
 * the file with identical, verified bytes). Call exactly one of commit() or abort().
 */
export interface BlobWriter {
  write(chunk: Uint8Array | string): Promise<void>;
  /** `write` of each chunk in turn, in one system call where it can: a gzip member of stored blocks is ~140 slices of the file it holds, not joined. */
  writev(chunks: readonly Uint8Array[]): Promise<void>;
  commit(expected?: { digest?: string; size?: number }): Promise<{ digest: string; size: number }>;
  abort(): Promise<void>;
}

export class FsBlobWriter implements BlobWriter {
  private fh: fs.FileHandle | undefined;
  private readonly hash: Hash = createHash('sha256');
  private size = 0;
  private done = false;

  constructor(
    private readonly tmp: string,
    private readonly blobDir: string,
    private readonly onCommit: (digest: string) => void = () => {},
  ) {}

  async write(chunk: Uint8Array | string): Promise<void> {
    if (this.done) throw new Error('BlobWriter used after commit/abort');
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    try {
      this.fh ??= await fs.open(this.tmp, 'wx', 0o600);
      this.hash.update(buf);
      this.size += buf.length;
      let off = 0;
      while (off < buf.length) off += (await this.fh.write(buf, off)).bytesWritten;
    } catch (e) {
      throw noSpaceError(e, this.root());
    }
  }

  async writev(chunks: readonly Uint8Array[]): Promise<void> {
    if (this.done) throw new Error('BlobWriter used after commit/abort');
    try {
      this.fh ??= await fs.open(this.tmp, 'wx', 0o600);
      const left: Uint8Array[] = [];
      for (const c of chunks) {
        this.hash.update(c);
        this.size += c.length;
        if (c.length) left.push(c);
      }
      // A short write goes on from where it stopped, as write's loop does.
      for (let at = 0; at < left.length; ) {
        let n = (await this.fh.writev(at === 0 ? left : left.slice(at))).bytesWritten;
        while (at < left.length && n >= left[at]!.length) n -= left[at++]!.length;
        if (n > 0) left[at] = left[at]!.subarray(n);
      }
    } catch (e) {
      throw noSpaceError(e, this.root());
    }
  }

  // blobs/sha256 sits two levels below the store root.
  private root(): string {
    return path.resolve(this.blobDir, '..', '..');
  }

  async commit(expected: { digest?: string; size?: number } = {}): Promise<{ digest: string; size: number }> {
    if (this.done) throw new Error('BlobWriter used after commit/abort');
    this.done = true;
    try {
      this.fh ??= await fs.open(this.tmp, 'wx', 0o600);
      await this.fh.sync();
      await this.fh.close();
      this.fh = undefined;
      const digest = `sha256:${this.hash.digest('hex')}`;
      if (expected.digest !== undefined && expected.digest !== digest) {
        throw cacheError('TB_CACHE_DIGEST_MISMATCH', `content hashes to ${digest}, expected ${expected.digest}`);
      }
      if (expected.size !== undefined && expected.size !== this.size) {
        throw cacheError('TB_CACHE_SIZE_MISMATCH', `content is ${this.size} bytes, expected ${expected.size}`);
      }
      await fs.chmod(this.tmp, 0o444);
      // The content is synced; the rename is not (one fsync less on every layer a build writes).
      // After a power loss the blob is there whole or missing, and missing is a cache miss: the
      // same guarantee as containerd's content store.
      await fs.rename(this.tmp, path.join(this.blobDir, digest.slice(7)));
      this.onCommit(digest);
      return { digest, size: this.size };
    } catch (e) {
      await this.cleanup();
      throw noSpaceError(e, this.root());
    }
  }

  async abort(): Promise<void> {
    this.done = true;
    await this.cleanup();
  }

  private async cleanup(): Promise<void> {
    await this.fh?.close().catch(() => {});
    this.fh = undefined;
    await fs.rm(this.tmp, { force: true });
  }
}
