import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import xxhash from 'xxhash-wasm';
import type { XXHashAPI } from 'xxhash-wasm';
import { BuildError } from '@tbuild/errors';
import { ContentHasher } from './content-hasher.ts';
import type { HashJob } from './content-hasher.ts';
import { ContextFs, Yielder } from './context-fs.ts';
import { ContextScan } from './context-scan.ts';
import type { ContextMemo, ContextRecall } from './context-memo.ts';
import type { EntryStat } from './context-fs.ts';
import type { IgnoreMatcher } from './dockerignore.ts';
import { ContextErrorCode } from './errors.ts';
import { baseName, dirName } from './go-path.ts';
import type { MatchState } from './pattern-matcher.ts';
import { selectFiles } from './select.ts';
import type { SelectEnv } from './select.ts';
import { StatCache } from './stat-cache.ts';
import type { Freshness } from './stat-cache.ts';
import type { ContextDigest, ContextSelection, ContextStats, SelectedFile, StatCachePersistence } from './types.ts';

/** Bump when the listing format changes, so old keys can never collide with new ones. */
const DIGEST_SALT = 'tbuild-context-v1\n';
/**
 * A file modified this close to the moment it was hashed may change again within the same
 * timestamp tick (Linux stamps files from a coarse clock); such hashes are used for this
 * build but not persisted ("racy git" problem). Filesystems with whole-second timestamps
 * get a wider window.
 */
const RACY_WINDOW_MS = 100;
const RACY_WINDOW_COARSE_MS = 2000;

function trustedForLater(changedMs: number, hashStartMs: number): boolean {
  const coarse = Number.isInteger(changedMs / 1000);
  return changedMs < hashStartMs - (coarse ? RACY_WINDOW_COARSE_MS : RACY_WINDOW_MS);
}

let xxPromise: Promise<XXHashAPI> | undefined;

/** The lstat fields that stand for a file's content (the stat cache's fingerprint), as doubles. */
const IDENT_FIELDS = 7;

function putIdent(out: Float64Array, at: number, st: EntryStat): void {
  out[at] = st.size;
  out[at + 1] = st.mtimeMs;
  out[at + 2] = st.ctimeMs;
  out[at + 3] = st.ino;
  out[at + 4] = st.rawMode;
  out[at + 5] = st.uid;
  out[at + 6] = st.gid;
}

export interface BuildContextOptions {
  ignore: IgnoreMatcher;
  statCache?: StatCachePersistence;
  /** Where a long-lived process keeps what each build read, for the next build of the context. */
  memo?: ContextMemo;
  /**
   * `tbuild-scan` (native/scan.c): lists and lstats the context in one process while this one
   * goes on, when the last build of this context read enough of it to be worth the spawn
   * (`minStatCacheBytes` of stat cache; default 64 KiB, ~1,500 entries: a scan costs ~10 ms to
   * start).
   */
  scanner?: { path: string; minStatCacheBytes?: number };
}

interface Memo {
  fp: bigint;
  hash: bigint;
}

/**
 * The build context of one build. Reads the directory lazily and at most once: every COPY's
 * `hash` and `select` share lstat, readdir and content-hash results. `hash` and `select` run
 * the same selection, so the digest covers exactly the entries COPY writes. New content
 * hashes are persisted to the stat cache at the end of each `hash` call that computed any;
 * `close()` flushes explicitly (nothing else needs releasing).
 * Errors: BuildError for user mistakes (missing source, bad pattern, unreadable file).
 */
export class BuildContext {
  readonly root: string;
  private readonly fs: ContextFs;
  private readonly env: SelectEnv;
  private readonly hasher: ContentHasher;
  private readonly xx: XXHashAPI;
  private readonly statCacheData: Buffer | undefined;
  private decodedStatCache: StatCache | undefined;
  private readonly persistence: StatCachePersistence | undefined;
  private readonly memoStore: ContextMemo | undefined;
  private readonly memoKey: string;
  /** Before anything was read: what changed later than shortly before this is not kept for later. */
  private readonly openedMs: number;
  /** The scan of the context, once it is in `fs` (undefined: none, or it failed): selection waits for it. */
  private scanning: Promise<ContextScan | undefined> = Promise.resolve(undefined);
  private recalled: ContextStats['recalled'] = 'none';
  private readonly selections = new Map<string, Promise<SelectedFile[]>>();
  private readonly hashes = new Map<string, Promise<ContextDigest>>();
  private readonly digests = new Map<string, Promise<string>>();
  private readonly memo = new Map<string, Memo>();
  private saving: Promise<void> = Promise.resolve();
  private readonly ident = new Float64Array(IDENT_FIELDS);
  private readonly identBytes = new Uint8Array(this.ident.buffer);
  private readonly counters = { filesHashed: 0, bytesHashed: 0, statCacheHits: 0, memoryHits: 0, selectionHits: 0, treeHits: 0 };

  private constructor(root: string, opts: BuildContextOptions, xx: XXHashAPI, statCacheData: Buffer | undefined, openedMs: number) {
    this.root = root;
    this.openedMs = openedMs;
    this.fs = new ContextFs(root);
    this.env = { fs: this.fs, ignore: opts.ignore, yielder: new Yielder(), ignoreStates: new Map<string, MatchState>() };
    this.xx = xx;
    this.hasher = new ContentHasher(xx);
    this.statCacheData = statCacheData;
    this.persistence = opts.statCache;
    this.memoStore = opts.memo;
    this.memoKey = `${root}\0${JSON.stringify(opts.ignore.patterns.map((p) => [p.pattern, p.negate]))}`;
  }

  static async open(dir: string, opts: BuildContextOptions): Promise<BuildContext> {
    let root: string;
    try {
      // Synchronous, as the other small reads on a build's path (dockerignore.ts, readConfined).
      root = fs.realpathSync(path.resolve(dir));
      if (!fs.statSync(root).isDirectory()) throw new Error('not a directory');
    } catch (e) {
      throw new BuildError(
        { code: ContextErrorCode.notDirectory, message: `build context ${JSON.stringify(dir)} is not a readable directory` },
        { cause: e },
      );
    }
    const openedMs = Date.now();
    xxPromise ??= xxhash();
    const [xx, data] = await Promise.all([xxPromise, opts.statCache?.load().catch(() => undefined)]);
    const ctx = new BuildContext(root, opts, xx, data, openedMs);
    const recall = opts.memo?.take(ctx.memoKey);
    if (recall) ctx.recall(recall);
    // The scan starts after openedMs, so racy-window checks against openedMs hold for its lstats.
    else if (opts.scanner && (data?.length ?? 0) >= (opts.scanner.minStatCacheBytes ?? 64 << 10)) {
      ctx.scanning = ContextScan.run(opts.scanner.path, root, { skip: opts.ignore.wholeDirs() }).then((scan) => {
        if (scan) ctx.fs.useScan(scan);
        return scan;
      });
    }
    return ctx;
  }

  get stats(): ContextStats {
    return { ...this.counters, lstatCalls: this.fs.lstatCalls, recalled: this.recalled };
  }

  /** Decoded on first use: a build whose digests all come from the memo never needs it. */
  private get statCache(): StatCache {
    return (this.decodedStatCache ??= StatCache.decode(this.statCacheData));
  }

  private recall(prior: ContextRecall): void {
    const changed = this.fs.refresh(prior.fs);
    for (const [rel, m] of prior.hashes) this.memo.set(rel, m);
    this.recalled = 'partial';
    if (changed > 0 || !prior.results) return;
    this.recalled = 'whole';
    for (const [key, files] of prior.results.selections) this.selections.set(key, Promise.resolve(files));
    for (const [key, digest] of prior.results.digests) this.hashes.set(key, Promise.resolve(digest));
  }

  /**
   * Hands what this build read to the memo. A listing, link target or content hash is kept only
   * if its entry had not changed for a while when this build began: an entry changed again in
   * the same timestamp tick would look unchanged next time (as for the stat cache). A kept hash
   * whose file changed since is harmless: contentHashes checks the fingerprint.
   */
  private async remember(memo: ContextMemo): Promise<void> {
    // Copied into new maps below before anything is awaited: a context still in use (bake's,
    // or one a caller passed in) adds to its own maps, never to what the memo keeps.
    const seen = this.fs.observations();
    let complete = true;
    const settled = <V>(from: ReadonlyMap<string, V>): Map<string, V> => {
      const out = new Map<string, V>();
      for (const [rel, v] of from) {
        const st = seen.stats.get(rel);
        if (st === null) continue; // gone: nothing will use it
        if (st !== undefined && trustedForLater(st.changedMs, this.openedMs)) out.set(rel, v);
        else complete = false;
      }
      return out;
    };
    const dirs = settled(seen.dirs);
    // A missing path is worth an lstat next time only if nothing else would show it appearing:
    // its parent's kept listing, or its parent's own absence, does. So files deleted from the
    // context (generated names, say) do not pile up in a server that runs for weeks.
    const stats = new Map<string, EntryStat | null>();
    for (const [rel, st] of seen.stats) {
      if (st === null && rel !== '' && (dirs.has(dirName(rel)) || seen.stats.get(dirName(rel)) === null)) continue;
      stats.set(rel, st);
    }
    const recall: ContextRecall = { fs: { stats, dirs, links: settled(seen.links) }, hashes: settled(this.memo) };
    if (complete) {
      const selections = await fulfilled(this.selections);
      const digests = await fulfilled(this.hashes);
      if (selections && digests) recall.results = { selections, digests };
    }
    memo.keep(this.memoKey, recall);
  }

  /** The entries COPY writes for `sel`, in copy order. */
  async select(sel: ContextSelection): Promise<SelectedFile[]> {
    const key = selectionKey(sel);
    let p = this.selections.get(key);
    if (!p) {
      p = this.scanning.then(() => selectFiles(this.env, sel));
      this.selections.set(key, p);
      p.catch(() => this.selections.delete(key));
    }
    return (await p).slice();
  }

  /**
   * `hash(sel).digest`, taken from the stat cache's records of the selection, first one that
   * still holds:
   * - with a scan of the context: the whole tree (every name, lstat and link target) is as it
   *   was, byte for byte in the scan, and so are the .dockerignore patterns. Nothing is walked;
   * - every entry selected now has the path, type, link target and lstat fingerprint it had:
   *   the context is walked, but no content hash is looked up and no listing is built.
   */
  async digest(sel: ContextSelection): Promise<string> {
    const key = selectionKey(sel);
    const full = this.hashes.get(key);
    if (full) return (await full).digest;
    let p = this.digests.get(key);
    if (!p) {
      p = this.computeDigest(sel, key);
      this.digests.set(key, p);
      p.catch(() => this.digests.delete(key));
    }
    return p;
  }

  private async computeDigest(sel: ContextSelection, key: string): Promise<string> {
    if (!this.persistence) return (await this.hash(sel)).digest;
    const records: Array<[string, bigint]> = [];
    const tree = this.treeFingerprint(await this.scanning);
    if (tree !== undefined) {
      const treeKey = `tree\0${this.memoKey}\0${key}`;
      const kept = this.statCache.selectionDigest(treeKey, tree);
      if (kept !== undefined) {
        this.counters.treeHits++;
        return kept;
      }
      records.push([treeKey, tree]);
    }
    const fp = this.selectionFingerprint(await this.select(sel));
    if (fp !== undefined) {
      const kept = this.statCache.selectionDigest(key, fp);
      if (kept !== undefined) {
        this.counters.selectionHits++;
        for (const [k, f] of records) this.statCache.recordSelection(k, f, kept);
        return kept;
      }
      records.push([key, fp]);
    }
    return (await this.fullHash(sel, key, records)).digest;
  }

  /**
   * xxh64 of the scan's bytes, when the scan saw the whole tree and nothing in it changed too
   * recently to trust (as for the stat cache): equal bytes, equal tree.
   */
  private treeFingerprint(scan: ContextScan | undefined): bigint | undefined {
    if (!scan?.whole || !trustedForLater(scan.newestChangeMs, this.openedMs) || !trustedForLater(scan.newestCoarseChangeMs, this.openedMs)) return undefined;
    return this.xx.h64Raw(scan.data, this.xx.h64(DIGEST_SALT));
  }

  /**
   * xxh64 over everything `hash` reads of the selected entries, in copy order: destination and
   * context paths, type, link target, and the lstat fields the stat cache trusts for a file's
   * content. Undefined when a file changed too recently to trust its lstat (as for the stat cache).
   */
  private selectionFingerprint(files: SelectedFile[]): bigint | undefined {
    const ident = new Float64Array(files.length * IDENT_FIELDS);
    let text = DIGEST_SALT;
    let i = 0;
    for (const f of files) {
      const st = this.fs.peekStat(f.relPath);
      if (!st) return undefined;
      if (f.type === 'file' && !trustedForLater(st.changedMs, this.openedMs)) return undefined;
      putIdent(ident, i, st);
      // A directory's size and times change with what is added inside it, which its record does
      // not cover (a symlink's target is in the text): only mode and owner count.
      if (f.type !== 'file') ident.fill(0, i, i + 4);
      i += IDENT_FIELDS;
      text += `${f.destRel}\0${f.relPath}\0${f.type}\0${f.linkTarget ?? ''}\n`;
    }
    return this.xx.h64Raw(new Uint8Array(ident.buffer), this.xx.h64(text));
  }

  /**
   * The cache-key digest of `sel`: sha256 over, for each selected entry in copy order, its
   * destination path, type, permission bits, uid/gid, symlink target and content hash. Times
   * are never included.
   */
  hash(sel: ContextSelection): Promise<ContextDigest> {
    return this.fullHash(sel, selectionKey(sel));
  }

  /** `hash`, recording the digest in the stat cache under each of `records` (key, fingerprint). */
  private async fullHash(sel: ContextSelection, key: string, records: ReadonlyArray<[string, bigint]> = []): Promise<ContextDigest> {
    // Once per selection and build, as select: the planner's key and the COPY's per-file
    // digests then come from one look at the files (a 20,000-file COPY hashed them twice).
    let p = this.hashes.get(key);
    if (!p) {
      p = this.computeHash(sel, records);
      this.hashes.set(key, p);
      p.catch(() => this.hashes.delete(key));
    }
    const d = await p;
    return { digest: d.digest, files: d.files.slice() };
  }

  private async computeHash(sel: ContextSelection, records: ReadonlyArray<[string, bigint]>): Promise<ContextDigest> {
    const files = await this.select(sel);
    const content = await this.contentHashes(files);
    const sha = createHash('sha256').update(DIGEST_SALT);
    const out: ContextDigest['files'] = [];
    // The records go to sha256 in ~64 KB pieces, not three updates per entry (60,000 native
    // calls for a 20,000-file context); the bytes hashed are the same.
    let text = '';
    for (const f of files) {
      const c = f.type === 'file' ? content.get(f.relPath)!.toString(16).padStart(16, '0') : '';
      const meta = metaRecord(f, c);
      text += JSON.stringify(f.destRel) + meta + '\n';
      if (text.length >= 65_536) {
        sha.update(text);
        text = '';
      }
      out.push({ path: f.relPath, digest: 'xxh64:' + this.xx.h64ToString(meta) });
    }
    sha.update(text);
    // The digest follows copy order (it decides which of two same-named files wins); the
    // listing is sorted by path so `cache why` can diff two listings by merging them.
    out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const result = { digest: 'sha256:' + sha.digest('hex'), files: out };
    for (const [k, fp] of records) this.statCache.recordSelection(k, fp, result.digest);
    if (this.decodedStatCache?.dirty) await this.persist();
    return result;
  }

  /**
   * Persists the stat cache (if one was given) when this build learned something: new hashes,
   * or entries for files that changed or disappeared. Safe to call more than once.
   */
  async close(): Promise<void> {
    const sc = this.decodedStatCache;
    if (sc && (sc.dirty || sc.hasStale((rel, fp) => this.freshness(rel, fp)))) await this.persist();
    // After the build has answered (~10 ms for 20,000 files), and never keeping a process alive
    // that has nothing else to do: only a process that builds again can use the memo.
    const memo = this.memoStore;
    if (memo) setImmediate(() => void this.remember(memo).catch(() => undefined)).unref();
  }

  private async persist(): Promise<void> {
    if (!this.persistence) return;
    // Saves are serialised so a slow earlier save never overwrites a newer one. The stat cache
    // is only a speed-up: a failed save must not fail the build, the next one just rehashes.
    this.saving = this.saving
      .then(() => this.persistence!.save(this.statCache.encode((rel, fp) => this.freshness(rel, fp))))
      .catch(() => undefined);
    await this.saving;
  }

  /** xxh64 over the exact bits of size, mtime, ctime, inode, mode, uid and gid. */
  private fingerprint(st: EntryStat): bigint {
    putIdent(this.ident, 0, st);
    return this.xx.h64Raw(this.identBytes);
  }

  private async contentHashes(files: SelectedFile[]): Promise<Map<string, bigint>> {
    const out = new Map<string, bigint>();
    const jobs: HashJob[] = [];
    const hashStartMs = Date.now();
    for (const f of files) {
      if (f.type !== 'file' || out.has(f.relPath)) continue;
      const st = this.fs.lstat(f.relPath)!;
      const fp = this.fingerprint(st);
      const m = this.memo.get(f.relPath);
      if (m && m.fp === fp) {
        this.counters.memoryHits++;
        out.set(f.relPath, m.hash);
        continue;
      }
      const cached = this.statCache.lookup(f.relPath, fp);
      if (cached !== undefined) {
        this.counters.statCacheHits++;
        // Only a server hands the memo to its next build; within one build the stat cache answers again.
        if (this.memoStore) this.memo.set(f.relPath, { fp, hash: cached });
        out.set(f.relPath, cached);
        continue;
      }
      out.set(f.relPath, 0n);
      jobs.push({
        rel: f.relPath,
        abs: f.absPath,
        done: (hash, bytes) => {
          this.counters.filesHashed++;
          this.counters.bytesHashed += bytes;
          out.set(f.relPath, hash);
          this.memo.set(f.relPath, { fp, hash });
          if (trustedForLater(st.changedMs, hashStartMs)) this.statCache.record(f.relPath, fp, hash);
        },
      });
    }
    await this.hasher.hashAll(jobs, this.env.yielder);
    return out;
  }

  private freshness(rel: string, fp: bigint): Freshness {
    const st = this.fs.peekStat(rel);
    if (st !== undefined) return st !== null && this.fingerprint(st) === fp ? 'same' : 'changed';
    const names = this.fs.peekDir(dirName(rel));
    if (names && !sortedHas(names, baseName(rel))) return 'changed';
    return 'unknown';
  }
}

/** The values of `map`'s promises once settled; undefined when one failed. */
async function fulfilled<T>(map: Map<string, Promise<T>>): Promise<Map<string, T> | undefined> {
  const keys = [...map.keys()];
  const results = await Promise.allSettled(map.values());
  if (results.some((r) => r.status === 'rejected')) return undefined;
  return new Map(results.map((r, i) => [keys[i]!, (r as PromiseFulfilledResult<T>).value]));
}

function sortedHas(names: string[], name: string): boolean {
  let lo = 0;
  let hi = names.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = names[mid]!;
    if (v === name) return true;
    if (v < name) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/**
 * `JSON.stringify([type, mode, uid, gid, linkTarget ?? '', contentHash])`, written out: the
 * type and the hex hash need no escaping and the numbers are integers, so only the link
 * target goes through JSON.stringify.
 */
function metaRecord(f: SelectedFile, contentHash: string): string {
  return `["${f.type}",${f.mode},${f.uid},${f.gid},${f.linkTarget ? JSON.stringify(f.linkTarget) : '""'},"${contentHash}"]`;
}

function selectionKey(sel: ContextSelection): string {
  return JSON.stringify([sel.sources, sel.excludes, sel.parents, sel.followSymlinks ?? true]);
}
