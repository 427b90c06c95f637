import { BuildError } from '@tbuild/errors';

/**
 * The part of @tbuild/cache's `Store` this package uses. Declared here (structurally) so the
 * registry depends on the store's behaviour, not on its class: `Store` satisfies it as is.
 *
 * Contract relied upon: `writeBlob`/`blobWriter().commit` verify `expected` digest and size and
 * publish nothing on mismatch; `blobPath(d)` is a readable file once `hasBlob(d)`; refs map a
 * name to a digest and survive restarts.
 */
export interface BlobStore {
  hasBlob(digest: string): boolean | Promise<boolean>;
  blobPath(digest: string): string;
  readBlob(digest: string): Promise<Buffer>;
  writeBlob(
    data: Buffer | string | AsyncIterable<Uint8Array>,
    expected?: { digest?: string; size?: number },
  ): Promise<{ digest: string; size: number }>;
  blobWriter(): {
    write(chunk: Uint8Array): Promise<void>;
    commit(expected?: { digest?: string; size?: number }): Promise<{ digest: string; size: number }>;
    abort(): Promise<void>;
  };
  getRef(name: string): Promise<string | undefined>;
  setRef(name: string, digest: string): Promise<void>;
  deleteRef(name: string): Promise<void>;
  listRefs(): Promise<{ name: string; digest: string; updated?: unknown }[]>;
  lease?(digests: string[]): Promise<() => Promise<void> | void>;
  /** Whether the stored blob still hashes to its digest (Store re-hashes once per file identity). */
  blobIntact?(digest: string): Promise<boolean>;
}

/**
 * Refuses to serve a blob whose bytes no longer match its digest (disk corruption, tampering):
 * exports and pushes stream blobs by path, so without this a flipped byte would leave the host.
 */
export async function assertBlobIntact(store: BlobStore, digest: string): Promise<void> {
  if (store.blobIntact && !(await store.blobIntact(digest))) {
    throw new BuildError({ code: 'TB_CACHE_CORRUPT', message: `stored blob ${digest} is corrupt`, hint: 'run `tbuild cache verify --repair`, then rebuild or pull the image again' });
  }
}
