import { createHash } from 'node:crypto';
import fsSync, { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { cacheError, noSpaceError } from './errors.ts';
import { digestHex, isSha256Digest, nameHash } from './digest.ts';
import { compressionOfMediaType } from './extract/decompress.ts';
import { extractTar } from './extract/extract-tar.ts';
import { FsBlobWriter, type BlobWriter } from './store/blob-writer.ts';
import { atomicCreate, atomicReplace, isErrno, readIfExists } from './store/fs-util.ts';
import { runGc, type GcOptions, type GcResult } from './store/gc.ts';
import { collectImageRoots } from './store/image-roots.ts';
import { DIRS, prepareLayout } from './store/layout.ts';
import { removeDeadLeftovers } from './store/leftovers.ts';
import { acquireFileLock } from './store/lock.ts';
import { readLivePins, writtenSince } from './store/pins.ts';
import { pruningGeneration, readGeneration, writeGeneration } from './store/prune-generation.ts';
import { ownedName } from './store/process-id.ts';
import { claimSlot, findSlot, isComplete } from './store/snapshot-slots.ts';
import { parseStepRecord, type StepRecord } from './store/step-record.ts';
import { appendUsage, readUsage, withUsage } from './store/step-usage.ts';
import { isUnsealed, UNSEALED_LAYER, UNSEALED_MARKER, unsealedId } from './store/unsealed.ts';
import { runVerify, type VerifyProblem } from './store/verify.ts';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function checkName(kind: string, name: string): void {
  if (!NAME.test(name)) throw new Error(`invalid ${kind} name ${JSON.stringify(name)}`);
}

/** Store refs `container:<id>` keep each container's image (and so its snapshots) alive through gc and `rmi`. */
export const CONTAINER_REF_PREFIX = 'container:';

const VERIFIED_META = 'verified-blobs';
/** Newest entries kept: a bound on the file, far above the blobs one build touches. */
const MAX_VERIFIED = 20_000;

/** A journal this large (~10,000 hits) is folded into the step records by the next build. */
const USAGE_FOLD_BYTES = 1 << 20;

/**
 * The on-disk store (layout in docs/store.md) and the only code that writes it: content-
 * addressed blobs, unpacked layer snapshots in overlay format, the step cache, image refs and
 * small metadata. Safe for many processes at once: every entry appears by an atomic rename or
 * link of a fully written, fsynced temp file, so readers never see partial entries and a killed
 * process leaves only temp files that the next open() removes. Content is verified on write;
 * readBlob and getStep re-verify, so corruption is reported (TB_CACHE_CORRUPT) or treated as a
 * miss, never served.
 */
export class Store {
  /** Absolute paths of the layout's directories (for gc/verify and tests). */
  readonly dirs: { readonly [K in keyof typeof DIRS]: string };
  private readonly inflight = new Map<string, Promise<string>>();
  // Blob digests verified by this process, keyed by the file identity at verification time.
  private readonly verified = new Map<string, string>();

  private constructor(readonly root: string) {
    this.dirs = Object.fromEntries(Object.entries(DIRS).map(([k, v]) => [k, path.join(root, v)])) as Store['dirs'];
  }

  static async open(root: string): Promise<Store> {
    const abs = path.resolve(root);
    await prepareLayout(abs);
    const store = new Store(abs);
    await removeDeadLeftovers(store.dirs.tmp);
    await removeDeadLeftovers(store.dirs.leases);
    return store;
  }

  /** A scratch path in the store's tmp dir (same filesystem, so renames into place work). */
  tempPath(): string {
    return path.join(this.dirs.tmp, ownedName());
  }

  /** A scratch directory on the store's filesystem, removed by Store.open once this process is gone (e.g. a RUN's upper dir). */
  async makeTempDir(): Promise<string> {
    const dir = this.tempPath();
    await fs.mkdir(dir, { mode: 0o700 });
    return dir;
  }

  // ---- blobs ----

  blobPath(digest: string): string {
    return path.join(this.dirs.blobs, digestHex(digest));
  }

  // hasBlob, blobIntact and hasSnapshot stat synchronously, as readIfExists reads (fs-util.ts).
  async hasBlob(digest: string): Promise<boolean> {
    try {
      return fsSync.statSync(this.blobPath(digest)).isFile();
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return false;
      throw e;
    }
  }

  /**
   * `length` bytes of a blob from `offset`, unverified: for callers that check what they read
   * themselves (a layer's gzip members, each with its own hash). Undefined if the blob is gone
   * or shorter.
   */
  async readBlobRange(digest: string, offset: number, length: number): Promise<Buffer | undefined> {
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(this.blobPath(digest), 'r');
      const buf = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buf, 0, length, offset);
      return bytesRead === length ? buf : undefined;
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return undefined;
      throw e;
    } finally {
      await handle?.close();
    }
  }

  async readBlob(digest: string): Promise<Buffer> {
    const data = await readIfExists(this.blobPath(digest));
    if (data === undefined) throw cacheError('TB_CACHE_BLOB_NOT_FOUND', `blob ${digest} is not in the store`);
    const actual = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    if (actual !== digest) {
      throw cacheError('TB_CACHE_CORRUPT', `stored blob ${digest} is corrupt (content hashes to ${actual})`, {
        hint: 'run `tbuild cache verify --repair`, then rebuild',
      });
    }
    return data;
  }

  async writeBlob(data: Buffer | string | AsyncIterable<Uint8Array>, expected?: { digest?: string; size?: number }): Promise<{ digest: string; size: number }> {
    if (typeof data === 'string' || Buffer.isBuffer(data)) {
      // An image rebuilt unchanged writes the same config and manifest again: skip the fsyncs.
      const bytes = Buffer.from(data);
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      const fits = (!expected?.digest || expected.digest === digest) && (expected?.size === undefined || expected.size === bytes.length);
      if (fits && (await this.blobIntact(digest))) return { digest, size: bytes.length };
    }
    const w = this.blobWriter();
    try {
      if (typeof data === 'string' || Buffer.isBuffer(data)) await w.write(data);
      else for await (const chunk of data) await w.write(chunk);
    } catch (e) {
      await w.abort();
      throw e;
    }
    return w.commit(expected);
  }

  blobWriter(): BlobWriter {
    return new FsBlobWriter(this.tempPath(), this.dirs.blobs, (digest) => this.verifiedWritten(digest));
  }

  /**
   * A blob this process just wrote is verified: its writer hashed every byte on the way to the
   * disk. Without this, the first warm build after the one that wrote them hashed every hit's
   * layer blob again (`parallel`: 0.37 s against 0.20 s, 11,700 page faults against 5,300).
   * Saved by `saveVerifications()`, once per build rather than a synced write per blob.
   */
  private verifiedWritten(digest: string): void {
    try {
      const st = fsSync.statSync(this.blobPath(digest));
      this.verified.set(digest, verifiedIdentity(st));
      this.verifiedDirty = true;
    } catch {
      /* only a rehash later */
    }
  }

  /** Whether the blob exists and hashes to its digest; hashes once per file identity per process. */
  async blobIntact(digest: string): Promise<boolean> {
    const file = this.blobPath(digest);
    let st;
    try {
      st = fsSync.statSync(file);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return false;
      throw e;
    }
    const id = verifiedIdentity(st);
    if (this.verified.get(digest) === id) return true;
    await this.loadVerified();
    if (this.verified.get(digest) === id) return true;
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    const ok = `sha256:${hash.digest('hex')}` === digest;
    if (ok) {
      this.verified.set(digest, id);
      this.saveVerified();
    } else this.verified.delete(digest);
    return ok;
  }

  // Verifications are kept across processes: rehashing every hit's layer blob in each new
  // process was most of a warm build's CPU (48 MB of sha256 for the 24-step `parallel`
  // benchmark). The identity includes ctime, which any write to the blob changes, so a blob
  // modified since is hashed again. Losing this file (or a racing writer's entries) only costs
  // rehashing.
  private verifiedLoad?: Promise<void>;
  private verifiedSave?: Promise<void>;
  private verifiedDirty = false;

  private loadVerified(): Promise<void> {
    this.verifiedLoad ??= this.readMeta(VERIFIED_META)
      .then((raw) => {
        if (!raw) return;
        const saved = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
        for (const [digest, id] of Object.entries(saved)) {
          if (typeof id === 'string' && !this.verified.has(digest)) this.verified.set(digest, id);
        }
      })
      .catch(() => undefined);
    return this.verifiedLoad;
  }

  /**
   * Resolves once what this process does in the background (blob verifications, removals) is
   * done, and the verifications of blobs it wrote are saved.
   */
  async settled(): Promise<void> {
    await this.saveVerifications();
    await Promise.all(this.removals);
  }

  private readonly removals = new Set<Promise<unknown>>();

  /** Saves what this process verified, the blobs it wrote included (a build's last step); not its removals. */
  async saveVerifications(): Promise<void> {
    if (this.verifiedDirty && !this.verifiedSave) this.saveVerified();
    while (this.verifiedSave) await this.verifiedSave;
  }

  private saveVerified(): void {
    this.verifiedDirty = true;
    this.verifiedSave ??= (async () => {
      // What other processes saved stays (it is read once, and never over this process's own).
      await this.loadVerified();
      while (this.verifiedDirty) {
        this.verifiedDirty = false;
        const entries = [...this.verified].slice(-MAX_VERIFIED);
        await this.writeMeta(VERIFIED_META, JSON.stringify(Object.fromEntries(entries))).catch(() => undefined);
      }
      this.verifiedSave = undefined;
    })();
  }

  // ---- snapshots ----

  snapshotPath(diffId: string): string {
    return findSlot(this.dirs.snapshots, diffId).fs;
  }

  async hasSnapshot(diffId: string): Promise<boolean> {
    return isComplete(findSlot(this.dirs.snapshots, diffId));
  }

  async ensureSnapshot(layer: { digest: string; diffId: string; mediaType: string }): Promise<string> {
    if (!isSha256Digest(layer.diffId)) throw new Error(`invalid diffID ${JSON.stringify(layer.diffId)}`);
    let p = this.inflight.get(layer.diffId);
    if (!p) {
      p = this.unpack(layer).finally(() => this.inflight.delete(layer.diffId));
      this.inflight.set(layer.diffId, p);
    }
    return p;
  }

  private async unpack(layer: { digest: string; diffId: string; mediaType: string }): Promise<string> {
    const existing = findSlot(this.dirs.snapshots, layer.diffId);
    if (await isComplete(existing)) return existing.fs;
    if (isUnsealed(layer)) throw cacheError('TB_CACHE_SNAPSHOT_NOT_FOUND', `snapshot ${layer.diffId} of an unsealed layer is not in the store`);
    if (!(await this.hasBlob(layer.digest))) throw cacheError('TB_CACHE_BLOB_NOT_FOUND', `layer blob ${layer.digest} is not in the store`);
    // Verify before extracting: a corrupt blob must read as corruption, not as a hostile layer.
    if (!(await this.blobIntact(layer.digest))) {
      throw cacheError('TB_CACHE_CORRUPT', `stored layer blob ${layer.digest} is corrupt`, { hint: 'run `tbuild cache verify --repair`, then rebuild' });
    }
    const dir = await this.makeTempDir();
    try {
      await fs.chmod(dir, 0o755);
      await extractTar(createReadStream(this.blobPath(layer.digest)), dir, {
        format: 'overlay',
        compression: compressionOfMediaType(layer.mediaType),
        expectedDiffId: layer.diffId,
      });
      return await this.adoptSnapshot(layer.diffId, dir);
    } catch (e) {
      await fs.rm(dir, { recursive: true, force: true });
      throw noSpaceError(e, this.root);
    }
  }

  /**
   * Moves `dir` in as the snapshot of `diffId`. When the store has one already, `dir` is removed
   * instead, after `removeAfter` (a later step may still have it mounted as a lower dir).
   */
  async adoptSnapshot(diffId: string, dir: string, opts: { removeAfter?: Promise<unknown> } = {}): Promise<string> {
    const slot = await claimSlot(this.dirs.snapshots, this.dirs.tmp, diffId);
    try {
      await fs.rename(dir, slot.fs);
    } catch (e) {
      if (isErrno(e, 'EXDEV')) {
        throw cacheError('TB_CACHE_CROSS_DEVICE', `cannot move ${dir} into the store at ${this.root}: different filesystems`, {
          hint: 'create upper dirs with Store.makeTempDir()',
        });
      }
      if (!isErrno(e, 'ENOTEMPTY', 'EEXIST')) throw e;
      // Another writer won; its snapshot has the same content by construction. Often it is
      // this build's own RUN, whose layer a `COPY --from` of its output repeats byte for byte:
      // removing those files was ~20 ms of the step, so they are moved aside and removed in
      // the background (or by Store.open, should this process die first).
      const trash = this.tempPath();
      await fs.rename(dir, trash);
      const removal = (opts.removeAfter ?? Promise.resolve())
        .catch(() => undefined)
        .then(() => fs.rm(trash, { recursive: true, force: true }))
        .catch(() => undefined);
      this.removals.add(removal);
      void removal.finally(() => this.removals.delete(removal));
    }
    return slot.fs;
  }

  /**
   * Stores `dir` (an upper dir) as the snapshot of a new unsealed layer (store/unsealed.ts) and
   * returns that layer. The slot is marked unsealed before its `fs` appears.
   */
  async adoptUnsealed(dir: string): Promise<{ digest: string; diffId: string; size: number; mediaType: string }> {
    const id = unsealedId();
    // adoptSnapshot claims the same slot again (the claim is by diffID) and moves the dir in.
    const slot = await claimSlot(this.dirs.snapshots, this.dirs.tmp, id);
    await fs.writeFile(path.join(slot.dir, UNSEALED_MARKER), '');
    await this.adoptSnapshot(id, dir);
    return { digest: id, diffId: id, size: 0, mediaType: UNSEALED_LAYER };
  }

  /**
   * Replaces a record's unsealed layer by its sealed one (a committed blob), so later builds
   * take the blob. Only a record that still names `unsealed` is changed.
   */
  async sealStep(key: string, unsealed: { diffId: string }, sealed: { digest: string; diffId: string; size: number; mediaType: string } | undefined): Promise<void> {
    if (sealed && !(await this.hasBlob(sealed.digest))) throw new Error(`sealStep(${key}): layer blob ${sealed.digest} is not committed`);
    const rec = await this.getStep(key);
    if (!rec?.layer || rec.layer.diffId !== unsealed.diffId) return;
    const { layer: _old, ...rest } = rec;
    const next: StepRecord = sealed ? { ...rest, layer: sealed, size: sealed.size } : { ...rest, size: 0 };
    this.stepMemo.delete(key);
    await atomicReplace(this.tempPath(), this.stepFile(key), JSON.stringify(next));
  }

  /**
   * Takes the snapshot of `diffId` out of the store, so that the caller can move files out of
   * it: a rerun COPY takes its unchanged files from its previous result this way
   * (executor's copy-donor.ts). Linking them instead showed RUN steps a link count of 2 that a
   * fresh build does not have. The blob stays, so the snapshot is unpacked again if a build or
   * container needs it later; an unsealed layer has none, and its record becomes a miss.
   *
   * Only a snapshot that nothing can have mounted is taken: none named by a live lease (builds
   * lease what they read), none written since a live build began, none of an image a container
   * was made from (containers mount their image's snapshots). An image tag or a step record
   * only needs the content, which the blob keeps. Returns a directory in tmp, which belongs
   * to the caller (and to Store.open's cleanup if this process dies), or undefined.
   */
  async takeSnapshot(diffId: string): Promise<string | undefined> {
    if (!isSha256Digest(diffId)) return undefined;
    return this.pruning(async () => {
      const slot = findSlot(this.dirs.snapshots, diffId);
      const st = await fs.stat(slot.dir).catch(() => undefined);
      if (!st || !(await isComplete(slot))) return undefined;
      const pins = await readLivePins(this.dirs.leases, { dropDead: false });
      if (pins.snaps.has(diffId) || writtenSince(pins, st.mtimeMs)) return undefined;
      for (const ref of await this.listRefs()) {
        if (ref.name.startsWith(CONTAINER_REF_PREFIX)) await collectImageRoots(this, ref.digest, pins.blobs, pins.snaps);
      }
      if (pins.snaps.has(diffId)) return undefined;
      const taken = this.tempPath();
      await fs.rename(slot.fs, taken);
      await fs.rm(slot.dir, { recursive: true, force: true });
      return taken;
    });
  }

  // ---- steps ----

  private stepFile(key: string): string {
    return path.join(this.dirs.steps, `${nameHash(key)}.json`);
  }

  // A build looks each record up several times (lease, cache check, layers of a stage); a
  // record never changes once written except for usage counters, so the parsed form is kept.
  // The layer blob is still checked on every lookup: a prune elsewhere may have removed it.
  private readonly stepMemo = new Map<string, StepRecord>();

  async getStep(key: string): Promise<StepRecord | undefined> {
    const memo = this.stepMemo.get(key);
    if (memo && (await this.layerServes(memo))) return memo;
    // Read again: another process may have replaced the record (sealed its layer, say) since.
    this.stepMemo.delete(key);
    const raw = await readIfExists(this.stepFile(key));
    const rec = raw && parseStepRecord(raw);
    if (!rec || rec.key !== key || !(await this.layerServes(rec))) return undefined;
    this.stepMemo.set(key, rec);
    return rec;
  }

  /**
   * Whether a record's layer can be used: its blob is there (and verifies, with `verify`), or for
   * an unsealed layer its snapshot is there.
   */
  private async layerServes(rec: StepRecord, verify = true): Promise<boolean> {
    if (!rec.layer) return true;
    if (isUnsealed(rec.layer)) return this.hasSnapshot(rec.layer.diffId);
    return verify ? this.blobIntact(rec.layer.digest) : this.hasBlob(rec.layer.digest);
  }

  async putStep(rec: StepRecord): Promise<void> {
    if (!(await this.layerServes(rec, false))) {
      throw new Error(`putStep(${rec.key}): layer ${rec.layer?.digest} is not committed`);
    }
    this.stepMemo.delete(rec.key);
    const file = this.stepFile(rec.key);
    const data = JSON.stringify(rec);
    if (await atomicCreate(this.tempPath(), file, data)) return;
    // First writer wins, unless its record no longer serves (corrupt or missing blob).
    if (!(await this.getStep(rec.key))) await atomicReplace(this.tempPath(), file, data);
  }

  private get usageFile(): string {
    return path.join(this.dirs.meta, 'step-usage.log');
  }

  private pendingTouches: string[] = [];
  private touchFlush?: Promise<void>;

  /** Records a hit (see step-usage.ts); the touches of one event-loop turn are one append. */
  touchStep(key: string): Promise<void> {
    this.pendingTouches.push(key);
    this.touchFlush ??= new Promise<void>((r) => setImmediate(r)).then(async () => {
      const keys = this.pendingTouches;
      this.pendingTouches = [];
      this.touchFlush = undefined;
      // Hits only order gc's eviction: a full disk here must not fail the build that hit.
      try {
        await appendUsage(this.usageFile, keys, new Date().toISOString());
        const st = fsSync.statSync(this.usageFile, { throwIfNoEntry: false });
        if (st && st.size > USAGE_FOLD_BYTES) await this.foldUsage();
      } catch {
        /* lost hits: see step-usage.ts */
      }
    });
    return this.touchFlush;
  }

  /**
   * Writes the journaled hits into the step records and starts a new journal (gc does this
   * under its lock; a build when the journal grows large). Hits appended while folding land in
   * the new journal, or at worst are lost, which only shifts gc's LRU order.
   */
  async foldUsage(): Promise<void> {
    const taken = this.tempPath();
    try {
      await fs.rename(this.usageFile, taken);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return; // nothing journaled, or another process is folding
      throw e;
    }
    try {
      for (const [key, u] of await readUsage(taken)) {
        const file = this.stepFile(key);
        const raw = await readIfExists(file);
        const rec = raw && parseStepRecord(raw);
        if (!rec || rec.key !== key) continue;
        await atomicReplace(this.tempPath(), file, JSON.stringify(withUsage(rec, u)));
      }
    } finally {
      await fs.rm(taken, { force: true });
    }
  }

  /** Every step record, with the journaled hits applied. */
  async listSteps(): Promise<StepRecord[]> {
    const usage = await readUsage(this.usageFile);
    const out: StepRecord[] = [];
    for (const name of await fs.readdir(this.dirs.steps)) {
      if (!name.endsWith('.json')) continue;
      const raw = await readIfExists(path.join(this.dirs.steps, name));
      const rec = raw && parseStepRecord(raw);
      if (rec) out.push(withUsage(rec, usage.get(rec.key)));
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async deleteStep(key: string): Promise<void> {
    this.stepMemo.delete(key);
    await fs.rm(this.stepFile(key), { force: true });
  }

  // ---- refs ----

  private refFile(name: string): string {
    return path.join(this.dirs.refs, `${nameHash(name)}.json`);
  }

  async getRef(name: string): Promise<string | undefined> {
    const raw = await readIfExists(this.refFile(name));
    if (!raw) return undefined;
    const r = JSON.parse(raw.toString()) as { name: string; digest: string };
    return r.name === name ? r.digest : undefined;
  }

  async setRef(name: string, digest: string): Promise<void> {
    if (!isSha256Digest(digest)) throw new Error(`setRef(${name}): invalid digest ${JSON.stringify(digest)}`);
    // Re-tagging the image a ref already names (every unchanged rebuild) changes nothing.
    if ((await this.getRef(name).catch(() => undefined)) === digest) return;
    await atomicReplace(this.tempPath(), this.refFile(name), JSON.stringify({ name, digest, updated: new Date().toISOString() }));
  }

  async deleteRef(name: string): Promise<void> {
    await fs.rm(this.refFile(name), { force: true });
  }

  async listRefs(): Promise<Array<{ name: string; digest: string; updated: string }>> {
    const out: Array<{ name: string; digest: string; updated: string }> = [];
    for (const f of await fs.readdir(this.dirs.refs)) {
      const raw = await readIfExists(path.join(this.dirs.refs, f));
      if (!raw) continue;
      try {
        const r = JSON.parse(raw.toString()) as { name: string; digest: string; updated: string };
        if (typeof r.name === 'string' && isSha256Digest(r.digest)) out.push({ name: r.name, digest: r.digest, updated: String(r.updated) });
      } catch {
        /* a foreign file: verify reports it */
      }
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  // ---- metadata ----

  async readMeta(name: string): Promise<Buffer | undefined> {
    checkName('meta', name);
    return readIfExists(path.join(this.dirs.meta, name));
  }

  async writeMeta(name: string, data: Buffer | string): Promise<void> {
    checkName('meta', name);
    await atomicReplace(this.tempPath(), path.join(this.dirs.meta, name), data);
  }

  // ---- RUN --mount=type=cache directories and build scratch ----

  /**
   * The persistent directory of a cache mount id (contents never enter a layer or a key). Named by
   * a hash of the id so any id string is a safe, short path; `created` tells the caller to apply
   * the mount's mode and owner.
   */
  async cacheMount(id: string): Promise<{ dir: string; created: boolean }> {
    const dir = path.join(this.dirs.mounts, nameHash(id));
    try {
      await fs.mkdir(dir, { mode: 0o755 });
      return { dir, created: true };
    } catch (e) {
      if (isErrno(e, 'EEXIST')) return { dir, created: false };
      throw e;
    }
  }

  /** Where builds keep per-process scratch (overlay upper/work dirs, bundles): same filesystem as the snapshots, so an upper dir is adopted by rename. */
  get runDir(): string {
    return this.dirs.run;
  }

  // ---- cross-process safety ----

  async lock(name: string): Promise<() => Promise<void>> {
    checkName('lock', name);
    return acquireFileLock(path.join(this.dirs.locks, `${name}.lock`));
  }

  private get generationFile(): string {
    return path.join(this.dirs.locks, 'gc.generation');
  }

  /**
   * Runs `pin` (look-ups, then a lease of what they found) so that no prune deletes what it
   * found before its lease is seen. While no prune runs, gc's lock is not taken
   * (store/prune-generation.ts); when one ran meanwhile, what `pin` leased is released and it
   * runs again under the lock.
   */
  async pinUnpruned<T extends { release(): Promise<void> }>(pin: () => Promise<T>): Promise<T> {
    const before = await readGeneration(this.generationFile);
    if (before !== undefined && before % 2 === 0) {
      const pinned = await pin();
      if ((await readGeneration(this.generationFile)) === before) return pinned;
      await pinned.release();
    }
    const unlock = await this.lock('gc');
    try {
      // No prune runs while the lock is held: an odd count is one that died, which would send
      // every later build here.
      const now = await readGeneration(this.generationFile);
      if (now === undefined || now % 2 === 1) await writeGeneration(this.generationFile, this.tempPath(), pruningGeneration(now) + 1);
      return await pin();
    } finally {
      await unlock();
    }
  }

  /** Runs `prune`, which deletes content, under gc's lock with the prune count odd (store/prune-generation.ts). */
  async pruning<T>(prune: () => Promise<T>): Promise<T> {
    const unlock = await this.lock('gc');
    try {
      const odd = pruningGeneration(await readGeneration(this.generationFile));
      await writeGeneration(this.generationFile, this.tempPath(), odd);
      try {
        return await prune();
      } finally {
        await writeGeneration(this.generationFile, this.tempPath(), odd + 1);
      }
    } finally {
      await unlock();
    }
  }

  /**
   * Lease files are named for the owning process, so gc and open() drop them once it is gone.
   * `since` (epoch ms) also pins every blob and snapshot written from then on: a build leases
   * what it is about to write without knowing the digests yet.
   */
  async lease(digests: string[], opts: { since?: number } = {}): Promise<() => Promise<void>> {
    const file = path.join(this.dirs.leases, `${ownedName()}.json`);
    // Small, and on every build's path: written and removed synchronously (fs-util.ts, readIfExists).
    fsSync.writeFileSync(file, JSON.stringify({ digests, since: opts.since }), { flag: 'wx', mode: 0o600 });
    return async () => {
      fsSync.rmSync(file, { force: true });
    };
  }

  gc(opts: GcOptions = {}): Promise<GcResult> {
    return runGc(this, opts);
  }

  verify(opts: { repair?: boolean } = {}): Promise<VerifyProblem[]> {
    return runVerify(this, opts);
  }
}

/** What a blob's verification holds to: any write to the file changes its ctime. */
function verifiedIdentity(st: fsSync.Stats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}
