/**
 * What tbuild and its sys helper say to each other (native/sys.c describes it too), the same
 * for the C helper and the python3 one. Requests are length-prefixed runs of NUL-terminated
 * fields, so a path may hold any byte but NUL; replies are lines, whose only free text is an
 * errno's message.
 */
export type SysRequest =
  | { op: 'mount'; source: string; target: string; fstype: string; data: string; cwd?: string }
  | { op: 'umount'; target: string; detach?: boolean }
  | { op: 'utimens'; path: string; atimeNs: string; mtimeNs: string }
  /** [path, mtimeNs] pairs; each keeps its atime. Stops at the first failure. */
  | { op: 'mtimes'; items: Array<[string, string]> }
  /**
   * posix_spawnp(3) with stdin /dev/null; stdout and stderr are pipes kept open until `release`.
   * `env`: `NAME=value` entries set over the helper's own environment, for this program only.
   */
  | { op: 'spawn'; argv: string[]; env?: string[] }
  | { op: 'release'; pid: number }
  /** flock(2) LOCK_EX|LOCK_NB on process `pid`'s descriptor `fd` (its open file's lock, as flock(1) takes it). */
  | { op: 'flock'; pid: number; fd: number }
  /**
   * Small regular files copied as copy-pool.ts's copySmall copies them (tbuild-sys only): at most
   * `max` bytes each; `keep` also copies xattrs and the source's mtime to the nanosecond.
   * Answered by a `copied` line, an item per job (native/sys.c).
   */
  | { op: 'copy'; max: number; keep: boolean; jobs: Array<{ src: string; dest: string; mode: number; uid: number; gid: number }> };

export type SysReply = { ok: true } | { ok: false; errno: string; message: string };

function fields(req: SysRequest): string[] {
  switch (req.op) {
    case 'mount':
      return [req.source, req.target, req.fstype, req.data, req.cwd ?? ''];
    case 'umount':
      return [req.target, req.detach ? '1' : '0'];
    case 'utimens':
      return [req.path, req.atimeNs, req.mtimeNs];
    case 'mtimes':
      return req.items.flat();
    case 'spawn':
      return [String(req.env?.length ?? 0), ...(req.env ?? []), ...req.argv];
    case 'release':
      return [String(req.pid)];
    case 'flock':
      return [String(req.pid), String(req.fd)];
    case 'copy':
      return [String(req.max), req.keep ? '1' : '0', ...req.jobs.flatMap((j) => [j.src, j.dest, String(j.mode), String(j.uid), String(j.gid)])];
  }
}

/** One request as its bytes; undefined when a field holds a NUL, which no path or argument can. */
export function encodeRequest(id: number, req: SysRequest): Buffer | undefined {
  const all = [String(id), req.op, ...fields(req)];
  if (all.some((f) => f.includes('\0'))) return undefined;
  const body = Buffer.from(`${all.join('\0')}\0`);
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32LE(body.length);
  return Buffer.concat([head, body]);
}

export type WireLine =
  | { kind: 'ready'; probeFd: number }
  | { kind: 'exit'; pid: number; code?: number; signal?: number }
  | { kind: 'reply'; id: number; ok: true; pid?: number; stdout?: number; stderr?: number; items?: string[] }
  | { kind: 'reply'; id: number; ok: false; errno: string; message: string };

/** One line the helper wrote; undefined for one tbuild does not understand. */
export function parseLine(line: string): WireLine | undefined {
  const w = line.split(' ');
  if (w[0] === 'ready') return { kind: 'ready', probeFd: Number(w[1]) };
  if (w[0] === 'exit') return w[2] === 'signal' ? { kind: 'exit', pid: Number(w[1]), signal: Number(w[3]) } : { kind: 'exit', pid: Number(w[1]), code: Number(w[3]) };
  const id = Number(w[0]);
  if (!Number.isInteger(id)) return undefined;
  if (w[1] === 'ok') return w.length >= 5 ? { kind: 'reply', id, ok: true, pid: Number(w[2]), stdout: Number(w[3]), stderr: Number(w[4]) } : { kind: 'reply', id, ok: true };
  if (w[1] === 'copied') return { kind: 'reply', id, ok: true, items: w.slice(2) };
  if (w[1] === 'err') return { kind: 'reply', id, ok: false, errno: w[2] ?? 'EIO', message: w.slice(3).join(' ') };
  return undefined;
}
