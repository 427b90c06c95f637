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
}
