import { spawn } from 'node:child_process';
import { cacheError } from '../errors.ts';
import { hostPython } from '../host-python.ts';

/** A node the extractor cannot make from Node.js (no mknod binding). */
export interface MknodOp {
  op: 'mknod';
  /** Path relative to the root, made only of real directories (resolveInRoot's output). */
  path: string;
  type: 'c' | 'b' | 'p';
  major: number;
  minor: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
}

/** An extended attribute (Node.js has no xattr binding); never follows a final symlink. */
export interface XattrOp {
  op: 'setxattr';
  path: string;
  name: string;
  value: Buffer;
}

export type SpecialOp = MknodOp | XattrOp;

export interface SpecialOpFailure {
  index: number;
  errno: string;
  message: string;
}

// Why a Python helper: Node.js 20 has neither mknod(2) nor xattr syscalls. The npm xattr addons
// need a native build and still leave mknod out; coreutils `mknod` cannot set xattrs and
// `setfattr` (package attr) is not installed by default. Debian's /usr/bin/python3 (the host's,
// never an image's) has os.mknod/os.setxattr with dir_fd and follow_symlinks=False, so one
// process per layer applies every op fd-relative: the walk opens each directory with
// O_NOFOLLOW, so even a path that changed underneath cannot lead outside the root.
const SCRIPT = String.raw`
import base64, json, os, stat, sys
req = json.load(sys.stdin)
root = os.open(req["root"], os.O_RDONLY | os.O_DIRECTORY)
fails = []
def parent_fd(rel):
    parts = [p for p in rel.split("/") if p]
    fd = os.dup(root)
    for p in parts[:-1]:
        nfd = os.open(p, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
        os.close(fd)
        fd = nfd
    return fd, (parts[-1] if parts else ".")
for i, op in enumerate(req["ops"]):
    fd = None
    try:
        fd, name = parent_fd(op["path"])
        if op["op"] == "mknod":
            kind = {"c": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}[op["type"]]
            os.mknod(name, kind | 0o600, os.makedev(op["major"], op["minor"]), dir_fd=fd)
            if req["chown"]:
                os.chown(name, op["uid"], op["gid"], dir_fd=fd, follow_symlinks=False)
            os.chmod(name, op["mode"], dir_fd=fd)
            os.utime(name, ns=(op["mtime"], op["mtime"]), dir_fd=fd, follow_symlinks=False)
        else:
            target = "/proc/self/fd/%d/%s" % (fd, name) if name != "." else "/proc/self/fd/%d" % fd
            os.setxattr(target, op["name"], base64.b64decode(op["value"]), follow_symlinks=False)
    except OSError as e:
        fails.append({"index": i, "errno": os.strerror(e.errno) if e.errno else "", "code": e.errno or 0, "message": str(e)})
    finally:
        if fd is not None:
            os.close(fd)
json.dump(fails, sys.stdout)
`;

/**
 * Applies `ops` under `root` in one helper process. Returns the ops that failed (EPERM when not
 * root, ENOTSUP for xattrs the file system refuses) so the caller decides what is fatal.
 */
export async function applySpecialOps(root: string, ops: SpecialOp[], opts: { chown: boolean }): Promise<Array<SpecialOpFailure & { code: number }>> {
  if (ops.length === 0) return [];
  const payload = JSON.stringify({
    root,
    chown: opts.chown,
    ops: ops.map((o) => (o.op === 'setxattr' ? { ...o, value: o.value.toString('base64') } : { ...o, mtime: Math.round(o.mtime * 1e9) })),
  });
  const child = spawn(hostPython() ?? 'python3', ['-I', '-S', '-c', SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'], env: {} });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  child.stdin.on('error', () => {});
  child.stdin.end(payload);
  let code: number | null;
  try {
    code = await done;
  } catch (e) {
    throw cacheError('TB_CACHE_IO', 'cannot run python3 to create device nodes and extended attributes', {
      hint: 'install Debian package python3-minimal',
      cause: e,
    });
  }
  if (code !== 0) throw new Error(`special-ops helper failed (exit ${code}): ${err.trim().slice(-2000)}`);
  return JSON.parse(out) as Array<SpecialOpFailure & { code: number }>;
}
