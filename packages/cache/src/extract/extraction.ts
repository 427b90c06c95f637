import fs from 'node:fs';
import fsp from 'node:fs/promises';
const C = fs.constants;
import path from 'node:path';
import { cacheError, layerInvalid } from '../errors.ts';
import { isErrno } from '../store/fs-util.ts';
import { checkName, classifyWhiteout, splitEntryPath } from './entry-path.ts';
import type { ExtractLimits, ExtractStats } from './options.ts';
import { resolveInRoot } from './resolve-in-root.ts';
import { applySpecialOps, type SpecialOp } from './special-ops.ts';
import type { TarEntry, TarHeader } from './tar-reader.ts';

type Kind = 'file' | 'dir' | 'implicit' | 'symlink' | 'node' | 'whiteout';

export interface ExtractionConfig {
  root: string;
  format: 'overlay' | 'plain';
  limits: ExtractLimits;
  sameOwner: boolean;
  devices: 'create' | 'skip';
  clampDotDot: boolean;
}

const XATTR_PREFIX = 'SCHILY.xattr.';
const SMALL_FILE = 1024 * 1024;
const EPERM = 1;
const MAX_ID = 0xfffffffe; // (uid_t)-1 means "unchanged" to chown; above is overflow (CVE-2024-40635)

/**
 * Applies tar entries one at a time under `root`, keeping a model of what this archive created
 * so duplicates, same-layer whiteouts and hardlink targets are checked against the archive
 * itself, not against whatever was on disk before. Directory modes and times, device nodes and
 * xattrs are deferred to finish(): modes so read-only dirs can still be filled, times so
 * children do not bump them, xattrs so chown/chmod (which drop security.capability) come first.
 */
export class Extraction {
  readonly stats: Omit<ExtractStats, 'diffId' | 'bytes'> = {
    entries: 0, files: 0, dirs: 0, symlinks: 0, hardlinks: 0, devices: 0, whiteouts: 0, opaques: 0, skipped: [],
  };
  private readonly created = new Map<string, Kind>();
  private readonly dirAttrs = new Map<string, { mode: number; mtime: number }>();
  private special: SpecialOp[] = [];
  private readonly parents = new Map<string, string>();

  constructor(private readonly cfg: ExtractionConfig) {}

  async apply(entry: TarEntry): Promise<void> {
    const h = entry.header;
    const { limits, root } = this.cfg;
    if (++this.stats.entries > limits.maxEntries) {
      throw cacheError('TB_CACHE_BUDGET_EXCEEDED', `archive has more than ${limits.maxEntries} entries`);
    }
    const comps = splitEntryPath(h.name, limits, 'path', this.cfg.clampDotDot);
    const xattrs = this.xattrsOf(h);
    const wh = classifyWhiteout(h.name, comps);
    if (wh.kind !== 'none') {
      await drain(entry);
      return wh.kind === 'opaque' ? this.opaque(h.name, comps.slice(0, -1)) : this.whiteout(h.name, comps.slice(0, -1), wh.target);
    }
    if (comps.length === 0) {
      await drain(entry);
      if (h.type !== 'directory') throw layerInvalid(h.name, 'the root can only be a directory');
      this.chown(root, h);
      this.dirAttrs.set(root, { mode: h.mode & 0o7777, mtime: mtimeOf(h) });
      return;
    }
    const parent = this.parentDir(h.name, comps.slice(0, -1));
    const real = path.join(parent, comps[comps.length - 1]!);
    const prev = this.created.get(real);
    if (prev !== undefined && !(h.type === 'directory' && (prev === 'dir' || prev === 'implicit'))) {
      throw layerInvalid(h.name, 'duplicate path in one layer');
    }
    switch (h.type) {
      case 'directory':
        await drain(entry);
        return this.dir(real, h, xattrs);
      case 'file':
      case 'contiguous-file':
        return this.file(real, h, entry, xattrs);
      case 'symlink':
        await drain(entry);
        return this.symlink(real, h, xattrs);
      case 'link':
        await drain(entry);
        return this.hardlink(real, h);
      case 'character-device':
      case 'block-device':
      case 'fifo':
        await drain(entry);
        return this.node(real, h, xattrs);
      default:
        throw layerInvalid(h.name, `unsupported entry type ${h.type ?? 'unknown (GNU sparse or vendor extension?)'}`);
    }
  }

  async finish(): Promise<void> {
    if (this.special.length) {
      const fails = await applySpecialOps(this.cfg.root, this.special, { chown: this.cfg.sameOwner });
      for (const f of fails) {
        const op = this.special[f.index]!;
        const isWhiteout = op.op === 'mknod' && op.type === 'c' && op.major === 0 && op.minor === 0 && this.created.get(path.join(this.cfg.root, op.path)) === 'whiteout';
        const isOpaque = op.op === 'setxattr' && op.name === 'trusted.overlay.opaque';
        if ((isWhiteout || isOpaque) && f.code !== EPERM) {
          throw cacheError('TB_CACHE_IO', `cannot create overlay ${isWhiteout ? 'whiteout' : 'opaque marker'} for ${JSON.stringify(op.path)}: ${f.message}`);
        }
        if (isWhiteout || isOpaque) {
          throw cacheError('TB_CACHE_NEEDS_ROOT', `cannot create overlay ${isWhiteout ? 'whiteout' : 'opaque marker'} for ${JSON.stringify(op.path)}: ${f.message}`, {
            hint: 'layer snapshots in overlay format need root (CAP_MKNOD, trusted.* xattrs)',
          });
        }
        this.stats.skipped.push({ path: op.path, reason: op.op === 'mknod' ? `mknod: ${f.message}` : `xattr ${op.name}: ${f.message}` });
      }
    }
    // Deepest first, so setting a parent's mtime is the last thing that touches it.
    const dirs = [...this.dirAttrs.entries()].sort((a, b) => b[0].length - a[0].length);
    for (const [dir, a] of dirs) {
      fs.chmodSync(dir, a.mode);
      fs.utimesSync(dir, a.mtime, a.mtime);
    }
  }

  /**
   * resolveInRoot with a memo of parent paths already resolved by this extraction. Exact-string
   * keys (no normalisation, unlike the node-tar cache of CVE-2021-37712) and the memo is dropped
   * whenever anything is removed, the only way a resolved directory can stop being one, since
   * nothing else writes under the root while the extraction runs.
   */
  private parentDir(entry: string, comps: string[]): string {
    const key = comps.join('/');
    const hit = this.parents.get(key);
    if (hit !== undefined) return hit;
    const real = resolveInRoot(this.cfg.root, comps, this.resolveOpts(entry, true))!;
    this.parents.set(key, real);
    return real;
  }

  private resolveOpts(entry: string, create: boolean) {
    return {
      create,
      entry,
      maxHops: this.cfg.limits.maxSymlinkHops,
      onCreate: (p: string) => this.created.set(p, 'implicit' as const),
    };
  }

  private xattrsOf(h: TarHeader): Map<string, Buffer> {
    const out = new Map<string, Buffer>();
    for (const [k, v] of h.paxRaw ?? []) {
      if (k.startsWith('GNU.sparse.')) throw layerInvalid(h.name, 'GNU sparse files are not supported');
      if (!k.startsWith(XATTR_PREFIX)) continue;
      const name = k.slice(XATTR_PREFIX.length);
      // Once extracted into a lowerdir the kernel would honour these (redirects, fake opaque dirs).
      if (/^(trusted|user)\.overlay\./.test(name)) throw layerInvalid(h.name, `carries overlay xattr ${name}`);
      out.set(name, v);
    }
    return out;
  }

  private rel(real: string): string {
    return path.relative(this.cfg.root, real) || '.';
  }

  private chown(real: string, h: TarHeader): void {
    if (!this.cfg.sameOwner) return;
    const uid = idOf(h, 'uid');
    const gid = idOf(h, 'gid');
    fs.lchownSync(real, uid, gid);
  }

  private addXattrs(real: string, xattrs: Map<string, Buffer>): void {
    for (const [name, value] of xattrs) this.special.push({ op: 'setxattr', path: this.rel(real), name, value });
  }

  /** Unlink, then recreate (layer.md): an existing symlink is removed, never followed. */
  private removeExisting(real: string): void {
    let st;
    try {
      st = fs.lstatSync(real);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return;
      throw e;
    }
    if (real === this.cfg.root) throw new Error('refusing to remove the extraction root');
    this.parents.clear();
    if (st.isDirectory()) {
      fs.rmSync(real, { recursive: true, force: true });
      for (const k of this.created.keys()) if (k.startsWith(real + '/')) this.created.delete(k);
      for (const k of this.dirAttrs.keys()) if (k.startsWith(real + '/')) this.dirAttrs.delete(k);
      const rel = this.rel(real) + '/';
      this.special = this.special.filter((o) => !o.path.startsWith(rel));
    } else {
      fs.unlinkSync(real);
    }
  }

  private async dir(real: string, h: TarHeader, xattrs: Map<string, Buffer>): Promise<void> {
    let isDir = false;
    try {
      isDir = fs.lstatSync(real).isDirectory();
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
    }
    if (!isDir) {
      this.removeExisting(real);
      fs.mkdirSync(real, { mode: 0o700 });
    }
    this.created.set(real, 'dir');
    this.chown(real, h);
    this.dirAttrs.set(real, { mode: h.mode & 0o7777, mtime: mtimeOf(h) });
    this.addXattrs(real, xattrs);
    this.stats.dirs++;
  }

  private async file(real: string, h: TarHeader, entry: TarEntry, xattrs: Map<string, Buffer>): Promise<void> {
    this.removeExisting(real);
    this.created.set(real, 'file');
    const flags = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW;
    const uid = this.cfg.sameOwner ? idOf(h, 'uid') : -1;
    const gid = this.cfg.sameOwner ? idOf(h, 'gid') : -1;
    const chown = uid !== -1 && (uid !== process.getuid?.() || gid !== process.getgid?.());
    const t = mtimeOf(h);
    if (h.size <= SMALL_FILE) {
      // Most layer files are small: buffer them and write with sync calls, which cost
      // microseconds instead of a thread-pool round trip each.
      const chunks: Uint8Array[] = [];
      for await (const chunk of entry) chunks.push(chunk);
      const fd = fs.openSync(real, flags, 0o600);
      try {
        for (const c of chunks) {
          let off = 0;
          while (off < c.length) off += fs.writeSync(fd, c, off);
        }
        if (chown) fs.fchownSync(fd, uid, gid);
        fs.fchmodSync(fd, h.mode & 0o7777); // after chown: chown clears setuid/setgid bits
        fs.futimesSync(fd, t, t);
      } finally {
        fs.closeSync(fd);
      }
    } else {
      const fh = await fsp.open(real, flags, 0o600);
      try {
        for await (const chunk of entry) await fh.write(chunk);
        if (chown) await fh.chown(uid, gid);
        await fh.chmod(h.mode & 0o7777);
        await fh.utimes(t, t);
      } finally {
        await fh.close();
      }
    }
    this.addXattrs(real, xattrs);
    this.stats.files++;
  }

  private async symlink(real: string, h: TarHeader, xattrs: Map<string, Buffer>): Promise<void> {
    const target = h.linkname ?? '';
    if (target === '') throw layerInvalid(h.name, 'symlink without a target');
    checkName(target, this.cfg.limits, 'symlink target');
    this.removeExisting(real);
    this.created.set(real, 'symlink');
    // Stored verbatim and never followed while writing: where it points is the image's business.
    fs.symlinkSync(target, real);
    this.chown(real, h);
    const t = mtimeOf(h);
    fs.lutimesSync(real, t, t);
    this.addXattrs(real, xattrs);
    this.stats.symlinks++;
  }

  /**
   * A hard link may only name a regular file or symlink this archive already wrote (absolute
   * names are root-relative). The target is resolved inside the root again, so a directory
   * swapped for a symlink since the target was written cannot redirect the link to the host.
   */
  private async hardlink(real: string, h: TarHeader): Promise<void> {
    const linkname = h.linkname ?? '';
    const comps = splitEntryPath(linkname, this.cfg.limits, 'hard link target', this.cfg.clampDotDot);
    if (comps.length === 0) throw layerInvalid(h.name, 'hard link to the root');
    const parent = resolveInRoot(this.cfg.root, comps.slice(0, -1), this.resolveOpts(h.name, false));
    const target = parent && path.join(parent, comps[comps.length - 1]!);
    const kind = target && this.created.get(target);
    if (!target || (kind !== 'file' && kind !== 'symlink')) {
      throw layerInvalid(h.name, `hard link target ${JSON.stringify(linkname)} is not a file written earlier in this layer`);
    }
    const st = fs.lstatSync(target);
    if (!st.isFile() && !st.isSymbolicLink()) throw layerInvalid(h.name, 'hard link target is not a regular file');
    if (target === real) throw layerInvalid(h.name, 'hard link to itself');
    this.removeExisting(real);
    this.created.set(real, kind);
    fs.linkSync(target, real); // link(2) does not follow a symlink target
    this.stats.hardlinks++;
  }

  private async node(real: string, h: TarHeader, xattrs: Map<string, Buffer>): Promise<void> {
    if (h.type !== 'fifo' && this.cfg.devices === 'skip') {
      this.stats.skipped.push({ path: this.rel(real), reason: 'device nodes need root' });
      return;
    }
    this.removeExisting(real);
    this.created.set(real, 'node');
    const type = h.type === 'fifo' ? 'p' : h.type === 'block-device' ? 'b' : 'c';
    const { uid, gid } = { uid: idOf(h, 'uid'), gid: idOf(h, 'gid') };
    this.special.push({ op: 'mknod', path: this.rel(real), type, major: h.devmajor ?? 0, minor: h.devminor ?? 0, mode: h.mode & 0o7777, uid, gid, mtime: mtimeOf(h) });
    this.addXattrs(real, xattrs);
    this.stats.devices++;
  }

  private async whiteout(entry: string, parentComps: string[], target: string): Promise<void> {
    this.stats.whiteouts++;
    if (this.cfg.format === 'overlay') {
      const parent = resolveInRoot(this.cfg.root, parentComps, this.resolveOpts(entry, true))!;
      const real = path.join(parent, target);
      // Whiteouts hide lower layers only; naming something this layer made is contradictory.
      if (this.created.has(real)) throw layerInvalid(entry, 'whiteout of a path the same layer creates');
      this.created.set(real, 'whiteout');
      this.special.push({ op: 'mknod', path: this.rel(real), type: 'c', major: 0, minor: 0, mode: 0, uid: 0, gid: 0, mtime: 0 });
      return;
    }
    const parent = resolveInRoot(this.cfg.root, parentComps, this.resolveOpts(entry, false));
    if (!parent) return;
    const real = path.join(parent, target);
    if (this.created.has(real)) return;
    this.removeExisting(real);
  }

  private async opaque(entry: string, parentComps: string[]): Promise<void> {
    this.stats.opaques++;
    const create = this.cfg.format === 'overlay';
    const dir = resolveInRoot(this.cfg.root, parentComps, this.resolveOpts(entry, create));
    if (!dir) return;
    if (create) {
      this.special.push({ op: 'setxattr', path: this.rel(dir), name: 'trusted.overlay.opaque', value: Buffer.from('y') });
      return;
    }
    this.pruneLower(dir);
  }

  /**
   * Plain-format opaque: drop what lower layers had under `dir`, keep what this archive already
   * put there, also inside pre-existing subdirectories (the spec's "applied first regardless of
   * the order it was encountered").
   */
  private pruneLower(dir: string): void {
    for (const name of fs.readdirSync(dir)) {
      const child = path.join(dir, name);
      if (this.created.has(child)) continue;
      const prefix = child + '/';
      const holdsOurs = [...this.created.keys()].some((k) => k.startsWith(prefix));
      if (holdsOurs && fs.lstatSync(child).isDirectory()) this.pruneLower(child);
      else this.removeExisting(child);
    }
  }
}

/**
 * Seconds, for utimes. A PAX mtime keeps its fraction to the microsecond (what utimes sets):
 * read whole as a double, `…7.9999999` would be second 8.
 */
function mtimeOf(h: TarHeader): number {
  const pax = h.pax?.mtime;
  const m = pax === undefined ? null : /^(-?\d+)(?:\.(\d+))?$/.exec(pax);
  if (m) return m[2] && !m[1]!.startsWith('-') ? Number(m[1]) + Number(`0.${m[2].slice(0, 6)}`) : Number(pax);
  return h.mtime ? Math.floor(h.mtime.getTime() / 1000) : 0;
}

function idOf(h: TarHeader, which: 'uid' | 'gid'): number {
  const pax = h.pax?.[which];
  const v = pax !== undefined ? Number(pax) : h[which];
  if (!Number.isInteger(v) || v < 0 || v > MAX_ID) throw layerInvalid(h.name, `${which} ${JSON.stringify(pax ?? v)} out of range`);
  return v;
}

async function drain(entry: TarEntry): Promise<void> {
  for await (const _ of entry) {
    /* skip the body */
  }
}
