import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { getAttributeSync, listAttributesSync, setAttributeSync } from '@napi-rs/xattr';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { isRoot, tempDirMaker } from '../../../../test/support/root.ts';
import { hasCc, nativeSysHelper } from '../../test/native-sys.ts';
import { startSysHelper, useNativeSysHelper, viaHelper } from '../snapshot/sys-helper.ts';
import { copyFiles, type CopyRequest, type CopySource } from './copy-files.ts';

// tbuild-sys copies a COPY's small files (helper-copy.ts) where it is the sys helper. What it
// writes must be what copyFiles writes on its own thread, to the nanosecond: a file's times and
// owner reach a layer's tar headers and a later RUN's stat, and a rerun compares the records.

const temp = tempDirMaker('tb-hcopy-');

const SIZES = [0, 1, 100, 4095, 65_536, 65_537, 70_000];
const MODES = [0o644, 0o755, 0o4755, 0o2750, 0o600, 0o1777, 0o444];
// Times a double of milliseconds or of seconds carries inexactly: just before a second, a
// millisecond, and plain nanoseconds.
const EDGES = ['1000000999999999', '1000001000000000', '1000002123000000', '1000003123999999', '1000004999600000', '1700000000999999900', '1700000000000000001'];

/** Deterministic: the same tree on every run, so a failure can be read again. */
function rng(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

interface Tree {
  files: CopySource[];
  times: Array<[string, string, string]>;
}

function makeTree(src: string): Tree {
  const rand = rng(7);
  const files: CopySource[] = [];
  const times: Array<[string, string, string]> = [];
  const ns = (): string => String(1_600_000_000_000_000_000n + BigInt(Math.floor(rand() * 2e17)) + BigInt(Math.floor(rand() * 1e9)));
  for (let d = 0; d < 3; d++) {
    fs.mkdirSync(path.join(src, `d${d}`));
    files.push({ absPath: path.join(src, `d${d}`), destRel: `d${d}`, type: 'dir', mode: 0o755, source: 'src' });
    for (let i = 0; i < 40; i++) {
      const abs = path.join(src, `d${d}/f${i}`);
      fs.writeFileSync(abs, Buffer.alloc(SIZES[(i + d) % SIZES.length]!, `${d}.${i}`));
      const mode = MODES[(i * 3 + d) % MODES.length]!;
      if (isRoot && i % 4 === 1) fs.chownSync(abs, 1000 + i, 2000 + d);
      fs.chmodSync(abs, mode);
      if (i % 3 === 0) setAttributeSync(abs, 'user.tbuild.i', Buffer.from(`${d}/${i}`));
      if (i % 5 === 0) setAttributeSync(abs, 'user.tbuild.empty', Buffer.alloc(0));
      times.push([abs, ns(), i < EDGES.length ? EDGES[i]! : ns()]);
      files.push({ absPath: abs, destRel: `d${d}/f${i}`, type: 'file', mode, source: 'src' });
    }
  }
  // Hard links among one source's files, small and over the helper's limit.
  for (const [from, to] of [['d0/f1', 'd0/l1'], ['d1/f5', 'd1/l5']] as const) {
    fs.linkSync(path.join(src, from), path.join(src, to));
    files.push({ ...files.find((f) => f.destRel === from)!, absPath: path.join(src, to), destRel: to });
  }
  return { files, times };
}

/** Every field of what a copy wrote that a layer or a RUN can see, and the records it reported. */
async function copyAndRead(tree: Tree, req: Omit<CopyRequest, 'rootfs' | 'files' | 'reuse'>, helper: boolean) {
  // Each copy reads the sources, which may move their atimes (relatime): set them again first.
  for (const [p, atimeNs, mtimeNs] of tree.times) expect(await viaHelper({ op: 'utimens', path: p, atimeNs, mtimeNs })).toEqual({ ok: true });
  const rootfs = temp();
  const records = new Map<string, string | undefined>();
  const reuse = { upper: rootfs, donorFor: () => undefined, written: (_f: CopySource, rel: string, record: string | undefined) => void records.set(rel, record) };
  if (!helper) process.env.TBUILD_SYS_COPY = '0';
  let result: { files: number; bytes: number };
  try {
    result = await copyFiles({ ...req, rootfs, files: tree.files, reuse });
  } finally {
    delete process.env.TBUILD_SYS_COPY;
  }
  const out = path.join(rootfs, req.dest);
  const inodes = new Map<bigint, string>();
  const seen = fs.readdirSync(out, { recursive: true, encoding: 'utf8' }).sort().map((rel) => {
    const p = path.join(out, rel);
    const st = fs.lstatSync(p, { bigint: true });
    const xattrs = listAttributesSync(p).sort().map((n) => `${n}=${Buffer.from(getAttributeSync(p, n) ?? []).toString('hex')}`);
    const linkedTo = inodes.get(st.ino) ?? rel;
    inodes.set(st.ino, linkedTo);
    const content = st.isFile() ? createHash('sha256').update(fs.readFileSync(p)).digest('hex') : '';
    // A source's atime is as it was when the copy opened it, but the first read of a hard-linked
    // source moves it for the next copy of that inode, and reading this tree moves a directory's.
    const atimeNs = st.isFile() && st.nlink === 1n ? st.atimeNs : undefined;
    return { rel, mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, nlink: st.nlink, atimeNs, mtimeNs: st.mtimeNs, xattrs, linkedTo, content };
  });
  return { result, seen, records: [...records].sort() };
}

describe.skipIf(!hasCc)('small files copied by tbuild-sys (needs a C compiler)', () => {
  beforeAll(async () => {
    useNativeSysHelper(nativeSysHelper());
    expect(await startSysHelper()).toBe(true);
  });

  const cases = [
    { name: 'COPY --from, keeping xattrs and nanosecond mtimes', req: { dest: '/c/', destMustBeDir: true, keepSourceAttrs: true } },
    { name: 'COPY from the context (owner 0:0)', req: { dest: '/c/', destMustBeDir: true, uid: 0, gid: 0 } },
    { name: 'COPY --chown --chmod', req: { dest: '/c/', destMustBeDir: true, uid: 1234, gid: 5678, chmod: (m: number, dir: boolean) => (dir ? m : 0o640) } },
  ];
  it.each(cases)('writes exactly what a copy on tbuild’s own thread writes: $name', async ({ req }) => {
    const src = temp();
    const tree = makeTree(src);
    if (!isRoot && req.uid !== undefined) return; // chown to other owners needs root
    const here = await copyAndRead(tree, req, false);
    const helped = await copyAndRead(tree, req, true);
    expect(helped.result).toEqual(here.result);
    expect(helped.records).toEqual(here.records);
    expect(helped.seen).toEqual(here.seen);
    // The comparison covers what it should: the tree holds each case the helper must mirror.
    const files = helped.seen.filter((s) => (s.mode & 0o170000n) === 0o100000n);
    expect(files.filter((s) => s.atimeNs !== undefined).length).toBeGreaterThan(100);
    expect(files.some((s) => s.xattrs.length > 0)).toBe(req.keepSourceAttrs === true);
    // Nanoseconds are kept only by COPY --from; other copies get times through a double of
    // seconds (libuv's, to the microsecond), which the helper must match.
    expect(files.some((s) => s.mtimeNs % 1000n !== 0n)).toBe(req.keepSourceAttrs === true);
    expect(files.some((s) => s.linkedTo !== s.rel)).toBe(true);
    expect(files.some((s) => (s.mode & 0o6000n) !== 0n)).toBe(req.chmod === undefined);
  });
});

describe.skipIf(!hasCc)('a tbuild-sys that dies while it copies (needs a C compiler)', () => {
  it('leaves every file to tbuild, which copies it whole', async () => {
    // A module instance of its own: the helper it kills is no other test's.
    vi.resetModules();
    const sys = await import('../snapshot/sys-helper.ts');
    const { copyFiles: copy } = await import('./copy-files.ts');
    sys.useNativeSysHelper(nativeSysHelper());
    expect(await sys.startSysHelper()).toBe(true);
    const helper = childrenOf(process.pid).find((pid) => fs.readlinkSync(`/proc/${pid}/exe`) === nativeSysHelper());
    expect(helper).toBeDefined();
    const src = temp();
    const files: CopySource[] = [];
    for (let i = 0; i < 2000; i++) {
      fs.writeFileSync(path.join(src, `f${i}`), `file ${i}\n`.repeat(i % 50));
      files.push({ absPath: path.join(src, `f${i}`), destRel: `f${i}`, type: 'file', mode: 0o644 });
    }
    const rootfs = temp();
    let copying = true;
    const copied = copy({ rootfs, dest: '/c/', files, destMustBeDir: true, uid: 0, gid: 0 }).finally(() => (copying = false));
    // 2,000 files take the helper far longer than this: it dies with requests unanswered.
    await new Promise((r) => setTimeout(r, 10));
    const killedWhileCopying = copying;
    process.kill(helper!, 'SIGKILL');
    expect(await copied).toEqual({ files: 2000, bytes: files.reduce((n, f) => n + fs.statSync(f.absPath).size, 0) });
    expect(killedWhileCopying).toBe(true);
    for (let i = 0; i < 2000; i += 7) expect(fs.readFileSync(path.join(rootfs, `c/f${i}`), 'utf8')).toBe(`file ${i}\n`.repeat(i % 50));
    vi.resetModules();
  });
});

function childrenOf(pid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return fs.readFileSync(`/proc/${d}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1] === String(pid);
      } catch {
        return false;
      }
    })
    .map(Number);
}
