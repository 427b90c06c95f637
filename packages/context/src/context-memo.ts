import type { FsObservations } from './context-fs.ts';
import type { ContextDigest, SelectedFile } from './types.ts';

/** What one build learned of a context directory, for the next build of it in this process. */
export interface ContextRecall {
  fs: FsObservations;
  /** Content hashes by context path, each with the lstat fingerprint it was taken at. */
  hashes: ReadonlyMap<string, { fp: bigint; hash: bigint }>;
  /**
   * Each selection's files and digest by selection key, reusable as they are when no entry read
   * changed since. Only when nothing they rest on was changed too recently to trust.
   */
  results?: { selections: ReadonlyMap<string, SelectedFile[]>; digests: ReadonlyMap<string, ContextDigest> };
}

/**
 * The last build's view of each context directory (and .dockerignore), kept by a long-lived
 * process: `tbuild server`, or a script that builds many times through the API. The next build
 * lstats every entry again but reads no unchanged directory or file, decodes no stat cache,
 * and, when nothing changed, reuses every digest: a warm 20,000-file context then costs its
 * lstat calls and little else.
 */
export class ContextMemo {
  readonly #byKey = new Map<string, ContextRecall>();
  #entries = 0;

  /**
   * `capacity`: contexts kept; `maxEntries`: entries (lstat results) kept in all, ~0.9 KB each
   * with their listings, hashes and digests (measured: 18.5 MB for the 20,200-entry `bigctx`).
   * The least recently built context is dropped first; one larger than `maxEntries` is not kept.
   */
  constructor(
    private readonly capacity = 4,
    private readonly maxEntries = 100_000,
  ) {}

  /** Removes and returns what the last build of `key` read: two builds at once never share it. */
  take(key: string): ContextRecall | undefined {
    const recall = this.#byKey.get(key);
    this.#drop(key);
    return recall;
  }

  keep(key: string, recall: ContextRecall): void {
    this.#drop(key);
    if (recall.fs.stats.size > this.maxEntries) return;
    this.#byKey.set(key, recall);
    this.#entries += recall.fs.stats.size;
    for (const oldest of this.#byKey.keys()) {
      if (this.#byKey.size <= this.capacity && this.#entries <= this.maxEntries) break;
      this.#drop(oldest);
    }
  }

  #drop(key: string): void {
    const recall = this.#byKey.get(key);
    if (!recall) return;
    this.#entries -= recall.fs.stats.size;
    this.#byKey.delete(key);
  }
}
