import type { BlobStore } from '../store-port.ts';
import type { Descriptor } from '../types.ts';
import type { UploadOutcome } from '../blob-upload.ts';
import type { CacheConfig } from './cache-config.ts';

/**
 * Where a shared cache lives (a registry repository or a directory on a shared filesystem).
 * Contract: `load` returns undefined when nothing was exported there yet and throws a
 * BuildError for anything unreadable; `fetchBlob` commits a blob to the store only after it
 * hashed to `desc.digest` with `desc.size` bytes; `putBlob` answers `exists` without sending
 * anything when the location already holds the blob; `save` publishes the config last, so a
 * reader never sees records whose blobs are not there yet.
 */
export interface CacheLocation {
  readonly name: string;
  load(): Promise<CacheConfig | undefined>;
  fetchBlob(desc: Descriptor, store: BlobStore): Promise<void>;
  hasBlob(digest: string): Promise<boolean>;
  putBlob(desc: Descriptor, store: BlobStore): Promise<UploadOutcome>;
  save(config: CacheConfig, store: BlobStore): Promise<{ digest: string }>;
}
