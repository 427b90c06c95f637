import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import tar from 'tar-stream';

/**
 * Reads a `docker save` archive (both builders write one) into the image's final root
 * filesystem, applied in memory: layers in order, whiteouts and opaque markers honoured, so
 * nothing from an untrusted archive ever touches the disk. Hard links become the entry they
 * point at plus a `linkGroup` naming the first path of the group.
 */

/** One path of the merged root filesystem; mtimes are compared only where a case asks. */
export interface TreeNode {
  type: 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** sha256 of the content (files only). */
  sha256?: string;
  linkname?: string;
  /** For hard-linked files: the lexically first path of the link group in the same layer. */
  linkGroup?: string;
  /** PAX xattrs (SCHILY.xattr.*), sorted by name. */
  xattrs?: Record<string, string>;
  /** Whole seconds, PAX's value when the entry has one (a RUN's files get the time it ran). */
  mtime: number;
}

/** What a saved image holds: its config JSON, the merged tree and the raw layer count. */
export interface SavedImage {
  config: ImageConfigJson;
  tree: Map<string, TreeNode>;
  /** Entry names of each layer, bottom first ([] = an empty tar, BuildKit's layer for an empty diff). */
  layerEntries: string[][];
}

/** The parts of an OCI/Docker image config the differential tests compare. */
export interface ImageConfigJson {
  author?: string;
  config?: Record<string, unknown>;
  history?: Array<{ created_by?: string; empty_layer?: boolean; comment?: string }>;
  rootfs?: { diff_ids: string[] };
}

async function readTarEntries(data: Buffer): Promise<Array<{ header: tar.Header; body: Buffer }>> {
  const extract = tar.extract();
  const out: Array<{ header: tar.Header; body: Buffer }> = [];
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => {
        chunks.push(c as Buffer);
      });
      stream.on('end', () => {
        out.push({ header, body: Buffer.concat(chunks) });
        next();
      });
      stream.on('error', reject);
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  Readable.from([data]).pipe(extract);
  await done;
  return out;
}

function maybeGunzip(b: Buffer): Buffer {
  return b[0] === 0x1f && b[1] === 0x8b ? zlib.gunzipSync(b) : b;
}

function clean(name: string): string {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new Error(`layer entry escapes the root: ${name}`);
  return '/' + parts.join('/');
}

const TYPES: Record<string, TreeNode['type'] | undefined> = {
  file: 'file',
  'contiguous-file': 'file',
  directory: 'dir',
  symlink: 'symlink',
  'character-device': 'char',
  'block-device': 'block',
  fifo: 'fifo',
};

function removeTree(tree: Map<string, TreeNode>, p: string, keepSelf: boolean): void {
  if (!keepSelf) tree.delete(p);
  const prefix = p === '/' ? '/' : p + '/';
  for (const k of [...tree.keys()]) if (k.startsWith(prefix) && k !== p) tree.delete(k);
}

function applyLayer(tree: Map<string, TreeNode>, entries: Array<{ header: tar.Header; body: Buffer }>): void {
  const inLayer = new Map<string, TreeNode>();
  for (const { header, body } of entries) {
    const p = clean(header.name);
    const base = p.slice(p.lastIndexOf('/') + 1);
    const dir = p.slice(0, p.lastIndexOf('/')) || '/';
    if (base === '.wh..wh..opq') {
      removeTree(tree, dir, true);
      continue;
    }
    if (base.startsWith('.wh.')) {
      removeTree(tree, (dir === '/' ? '' : dir) + '/' + base.slice(4), false);
      continue;
    }
    const xattrs: Record<string, string> = {};
    for (const [k, v] of Object.entries((header.pax ?? {}) as Record<string, string>)) {
      if (k.startsWith('SCHILY.xattr.')) xattrs[k.slice(13)] = Buffer.from(v, 'binary').toString('base64');
    }
    const pax = (header.pax ?? {}) as Record<string, string>;
    // tar-stream applies PAX path and size but not the ids and time that overflow ustar's fields.
    const paxInt = (k: string): number | undefined => (pax[k] === undefined ? undefined : Math.floor(Number(pax[k])));
    const mtime = paxInt('mtime') ?? Math.floor((header.mtime?.getTime() ?? 0) / 1000);
    const common = { mode: (header.mode ?? 0) & 0o7777, uid: paxInt('uid') ?? header.uid ?? 0, gid: paxInt('gid') ?? header.gid ?? 0, mtime, ...(Object.keys(xattrs).length ? { xattrs } : {}) };
    let node: TreeNode;
    if (header.type === 'link') {
      const target = clean(header.linkname ?? '');
      const t = inLayer.get(target) ?? tree.get(target);
      if (!t || t.type !== 'file') throw new Error(`hard link ${p} -> ${target}: target missing or not a file`);
      t.linkGroup ??= target;
      node = { ...t };
    } else {
      const type = TYPES[header.type ?? 'file'];
      if (!type) throw new Error(`unexpected tar entry type ${header.type} at ${p}`);
      node = { type, ...common, size: type === 'file' ? body.length : 0 };
      if (type === 'file') node.sha256 = createHash('sha256').update(body).digest('hex');
      if (type === 'symlink') node.linkname = header.linkname ?? '';
    }
    // A non-directory replacing anything drops that path's old subtree.
    const old = tree.get(p);
    if (old && !(old.type === 'dir' && node.type === 'dir')) removeTree(tree, p, false);
    tree.set(p, node);
    inLayer.set(p, node);
  }
}

/** Reads a docker-save tar (first image) into its config and merged filesystem. */
export async function readSavedImage(archive: string): Promise<SavedImage> {
  const files = new Map((await readTarEntries(fs.readFileSync(archive))).map((e) => [clean(e.header.name), e.body] as const));
  const manifest = JSON.parse(files.get('/manifest.json')?.toString() ?? 'null') as Array<{ Config: string; Layers: string[] }> | null;
  if (!manifest?.[0]) throw new Error(`${archive}: no manifest.json`);
  const blob = (name: string): Buffer => {
    const b = files.get(clean(name));
    if (!b) throw new Error(`${archive}: missing ${name}`);
    return b;
  };
  const config = JSON.parse(blob(manifest[0].Config).toString()) as ImageConfigJson;
  const tree = new Map<string, TreeNode>();
  const layerEntries: string[][] = [];
  for (const layer of manifest[0].Layers) {
    const entries = await readTarEntries(maybeGunzip(blob(layer)));
    layerEntries.push(entries.map((e) => e.header.name));
    applyLayer(tree, entries);
  }
  // Hard-link groups are named after a path; normalise every member to the smallest path.
  const groups = new Map<string, string[]>();
  for (const [p, n] of tree) if (n.linkGroup) groups.set(n.linkGroup, [...(groups.get(n.linkGroup) ?? []), p]);
  for (const members of groups.values()) {
    const live = members.filter((m) => tree.has(m)).sort();
    for (const m of live) {
      const n = tree.get(m)!;
      if (live.length > 1) n.linkGroup = live[0];
      else delete n.linkGroup;
    }
  }
  return { config, tree, layerEntries };
}

/**
 * Every byte an image archive carries that a consumer can read: the config JSON, the manifest
 * and each layer uncompressed (for "this secret is nowhere in the image" checks).
 */
export async function archiveBytes(archive: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const e of await readTarEntries(fs.readFileSync(archive))) parts.push(maybeGunzip(e.body));
  return Buffer.concat(parts);
}
