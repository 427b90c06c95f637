import fs from 'node:fs';
import path from 'node:path';
import { BuildError } from '@tbuild/errors';
import { joinClean } from '../clean-path.ts';
import type { TarEntry } from './tar-header.ts';
import { LowerView } from './lower-lookup.ts';
import { readXattrs } from './xattrs.ts';

/** One member of the layer, with the host file to stream for regular files. */
export interface LayerMember {
  entry: TarEntry;
  /** Host path whose bytes follow the header (regular files that are not hard links). */
  source?: string;
}

export interface WalkOptions {
  sourceDateEpoch?: number;
  /**
   * Honour `user.overlay.*` markers (uppers of `userxattr` mounts, i.e. rootless). Off by default:
   * on a normal mount the kernel ignores them, so a RUN could forge an opaque dir with
   * `setfattr -n user.overlay.opaque` and the layer would not match what the RUN saw.
   */
  userXattr?: boolean;
  /**
   * The snapshot dirs below the upper dir, top-most first. When given, directories overlay
   * merely copied up and that still equal the lower one are left out (their changed children
   * are still emitted); without it every directory in the upper dir is emitted.
   */
  lowers?: string[];
  /**
   * Regular files the caller moved into the upper dir, by path as in the tar, with their lstat
   * taken before the move (a rename keeps the inode, so every field a header reads) and
   * nothing written to them since; they carry no xattrs (a context COPY writes none). The walk
   * takes these instead of an lstat and xattr list of its own each: the two were ~8 us of a
   * 20,000-file layer's main thread per file.
   */
  known?: ReadonlyMap<string, fs.BigIntStats>;
}

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
// Only this xattr carries meaning an image must keep (file capabilities, e.g. ping's cap_net_raw);
// the rest are host- or overlay-specific (security.selinux, trusted.overlay.*).
const KEPT_XATTRS = new Set(['security.capability']);
const NO_XATTRS: ReadonlyMap<string, Buffer> = new Map();

/**
 * Walks an overlay upper dir and yields the layer's members in archive order: depth first,
 * parents before children; within a directory its opaque marker first, then whiteouts, then
 * the other entries, each group in code-unit order of the names (the spec asks for whiteouts
 * before sibling directories). Overlay markers become OCI ones: a 0/0 character device (or a
 * file carrying `overlay.whiteout`) is `.wh.<name>`, an opaque dir gets `<dir>/.wh..wh..opq`.
 * A RUN-made 0/0 device cannot be told from a whiteout and is treated as one, as in every
 * overlay-based builder. Hard links within the layer are emitted as links to the first path.
 *
 * Throws `TB_EXEC_WHITEOUT_NAME` for a file named `.wh.*`: it would delete files downstream.
 * The walk is iterative, so deep trees cannot overflow the stack.
 */
export function* walkUpper(upper: string, opts: WalkOptions = {}): Generator<LayerMember> {
  const root = path.resolve(upper);
  const prefixes = opts.userXattr ? ['trusted.overlay.', 'user.overlay.'] : ['trusted.overlay.'];
  const overlayXattr = (x: ReadonlyMap<string, Buffer>, key: string) => prefixes.some((p) => x.get(p + key)?.toString() === 'y');
  const hasOverlayXattr = (x: ReadonlyMap<string, Buffer>, key: string) => prefixes.some((p) => x.has(p + key));
  const firstPathOfInode = new Map<string, string>();
  const lowerView = opts.lowers && opts.lowers.length > 0 ? new LowerView(opts.lowers) : undefined;
  const clamp = (sec: number) => (opts.sourceDateEpoch !== undefined && sec > opts.sourceDateEpoch ? opts.sourceDateEpoch : sec);

  // Work items: a member to emit, or a directory whose children still need reading. Children
  // are pushed in reverse so they pop in order, and a subdirectory's expansion sits right after
  // its own entry: depth first, parents first, without recursion.
  // `inode` marks a member with other hard links; which path is "first" is decided when it is
  // emitted, since a later sibling's subtree can be emitted before an earlier-read file.
  type Work = { member: LayerMember; inode?: string } | { expand: string };
  const stack: Work[] = [{ expand: '' }];
  while (stack.length > 0) {
    const work = stack.pop()!;
    if ('member' in work) {
      if (work.inode !== undefined) {
        const first = firstPathOfInode.get(work.inode);
        if (first !== undefined) {
          yield { entry: { ...work.member.entry, type: 'hardlink', size: 0, linkname: first } };
          continue;
        }
        firstPathOfInode.set(work.inode, work.member.entry.path);
      }
      yield work.member;
      continue;
    }
    const rel = work.expand;
    const names = readNames(joinClean(root, rel), rel);
    const whiteouts: string[] = [];
    const others: { name: string; st: fs.BigIntStats; x: ReadonlyMap<string, Buffer> }[] = [];
    for (const name of names) {
      const childRel = joinClean(rel, name);
      const host = joinClean(root, childRel);
      const taken = opts.known?.get(childRel);
      const st = taken ?? fs.lstatSync(host, { bigint: true });
      const x = taken || st.isSocket() ? NO_XATTRS : readXattrs(host);
      const isWhiteout =
        (st.isCharacterDevice() && st.rdev === 0n) || (st.isFile() && st.size === 0n && hasOverlayXattr(x, 'whiteout'));
      if (isWhiteout) {
        whiteouts.push(name);
        continue;
      }
      if (name.startsWith(WHITEOUT_PREFIX)) {
        throw new BuildError({
          code: 'TB_EXEC_WHITEOUT_NAME',
          message: `"/${childRel}" cannot be stored in an image layer: names starting with ".wh." mark deletions`,
          hint: 'rename the file; an OCI layer would read it as deleting a sibling',
        });
      }
      if (hasOverlayXattr(x, 'redirect') || hasOverlayXattr(x, 'metacopy')) {
        throw new BuildError({
          code: 'TB_EXEC_OVERLAY_UNSUPPORTED',
          message: `"/${childRel}" uses overlayfs redirect_dir/metacopy, which the layer differ cannot read`,
          hint: 'mount overlays with redirect_dir=off,metacopy=off (tbuild does this itself)',
        });
      }
      others.push({ name, st, x });
    }

    const items: Work[] = [];
    for (const name of whiteouts) {
      const p = rel === '' ? WHITEOUT_PREFIX + name : `${rel}/${WHITEOUT_PREFIX}${name}`;
      items.push({ member: { entry: marker(p) } });
    }
    for (const { name, st, x } of others) {
      if (st.isSocket()) continue; // sockets cannot be archived meaningfully (containerd drops them too)
      const childRel = joinClean(rel, name);
      const host = joinClean(root, childRel);
      const kept = x.size === 0 ? NO_XATTRS : new Map([...x].filter(([k]) => KEPT_XATTRS.has(k)));
      const base: TarEntry = {
        path: childRel,
        type: 'file',
        mode: Number(st.mode & 0o7777n),
        uid: Number(st.uid),
        gid: Number(st.gid),
        size: 0,
        mtime: clamp(Number(st.mtimeNs / 1_000_000_000n)),
        ...(kept.size > 0 ? { xattrs: kept } : {}),
      };
      if (st.isDirectory()) {
        const opaque = overlayXattr(x, 'opaque');
        if (opaque || !lowerView?.sameDir(childRel, st, kept)) items.push({ member: { entry: { ...base, type: 'dir' } } });
        if (opaque) items.push({ member: { entry: marker(`${childRel}/${OPAQUE_MARKER}`) } });
        items.push({ expand: childRel });
        continue;
      }
      // Overlay shares one inode among whiteouts, handled above; here nlink > 1 means a real hard link.
      const inode = !st.isSymbolicLink() && st.nlink > 1n ? `${st.dev}:${st.ino}` : undefined;
      if (st.isFile()) items.push({ member: { entry: { ...base, size: Number(st.size) }, source: host }, inode });
      else if (st.isSymbolicLink()) items.push({ member: { entry: { ...base, type: 'symlink', linkname: fs.readlinkSync(host) } } });
      else if (st.isFIFO()) items.push({ member: { entry: { ...base, type: 'fifo' } }, inode });
      else if (st.isCharacterDevice() || st.isBlockDevice()) {
        const type = st.isCharacterDevice() ? 'char' : 'block';
        items.push({ member: { entry: { ...base, type, ...deviceNumbers(st.rdev) } }, inode });
      }
    }
    for (let i = items.length - 1; i >= 0; i--) stack.push(items[i]!);
  }
}

/**
 * Directory entries in code-unit order. Linux names are bytes; a name that is not valid UTF-8
 * cannot round-trip through a JS string (nor through PAX, whose paths are UTF-8), so it is
 * refused with a clear error rather than archived under a mangled name.
 */
function readNames(dir: string, rel: string): string[] {
  const names = fs.readdirSync(dir);
  // Invalid UTF-8 decodes to U+FFFD: only then are the raw bytes worth a look.
  if (!names.some((n) => n.includes('\uFFFD'))) return names.sort();
  const raw = fs.readdirSync(dir, { encoding: 'buffer' });
  return raw
    .map((b) => {
      const name = b.toString('utf8');
      if (!Buffer.from(name, 'utf8').equals(b)) {
        throw new BuildError({
          code: 'TB_EXEC_UNREPRESENTABLE_NAME',
          message: `"/${rel === '' ? '' : `${rel}/`}${name}" is not valid UTF-8 and cannot be stored in an image layer`,
          hint: 'rename the file to a UTF-8 name',
        });
      }
      return name;
    })
    .sort();
}

/** Whiteout and opaque markers: empty regular files, mode 0, owner 0, mtime 0 (containerd's choice). */
function marker(p: string): TarEntry {
  return { path: p, type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: 0 };
}

function deviceNumbers(rdev: bigint): { devmajor: number; devminor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { devmajor: Number(major), devminor: Number(minor) };
}
