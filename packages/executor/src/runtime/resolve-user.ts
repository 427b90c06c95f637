import fs from 'node:fs';
import { BuildError } from '@tbuild/errors';
import { ConfinedPathError, resolveInRoot } from './confined-path.ts';

/** A user resolved to numbers, ready for the OCI spec. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Supplementary groups from /etc/group (only when no group was given explicitly, like runc). */
  additionalGids: number[];
  /** Home directory from /etc/passwd, `/` when unknown (used for $HOME by callers). */
  home: string;
}

// Ids above int32 wrap to 0 (root) in some runtimes (CVE-2024-40635); ids are 32-bit and -1 is "no change".
const MAX_ID = 2 ** 31 - 1;
const MAX_FILE_BYTES = 8 << 20;

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}
interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/**
 * Resolves a Dockerfile `USER` value (`user`, `uid`, `user:group`, `uid:gid`, empty = root) against
 * the image's /etc/passwd and /etc/group. Those are read as plain files, never through NSS or
 * anything executable from the image, and their paths are resolved inside `rootfs` so a symlinked
 * /etc/passwd cannot point at the host's. A numeric value is taken as an id before any name lookup,
 * so a passwd entry literally named "1000" cannot turn `USER 1000` into another uid
 * (CVE-2016-3697). Unknown names are a `TB_EXEC_USER_UNKNOWN` error; invalid ids `TB_EXEC_USER_INVALID`.
 */
export function resolveUser(rootfs: string, spec: string): ResolvedUser {
  const trimmed = spec.trim();
  const colon = trimmed.indexOf(':');
  const userPart = colon === -1 ? trimmed : trimmed.slice(0, colon);
  const groupPart = colon === -1 ? undefined : trimmed.slice(colon + 1);
  const passwd = () => parsePasswd(readEtcFile(rootfs, '/etc/passwd'));
  const groups = () => parseGroup(readEtcFile(rootfs, '/etc/group'));

  let uid = 0;
  let gid = 0;
  let name: string | undefined;
  let home = '/';
  if (userPart === '') {
    if (groupPart !== undefined && trimmed !== '') throw invalid(spec, 'the user part is empty');
    const root = passwd().find((e) => e.uid === 0);
    name = root?.name;
    home = root?.home ?? '/root';
  } else if (isNumeric(userPart)) {
    uid = parseId(userPart, spec);
    const entry = passwd().find((e) => e.uid === uid);
    if (entry) {
      gid = entry.gid;
      name = entry.name;
      home = entry.home;
    }
  } else {
    const entry = passwd().find((e) => e.name === userPart);
    if (!entry) {
      throw new BuildError({
        code: 'TB_EXEC_USER_UNKNOWN',
        message: `unable to find user ${userPart}: no matching entries in passwd file`,
        hint: 'create the user in an earlier RUN (adduser) or use a numeric uid',
      });
    }
    ({ uid, gid, name, home } = entry);
  }

  let additionalGids: number[] = [];
  if (groupPart !== undefined && groupPart !== '') {
    if (isNumeric(groupPart)) gid = parseId(groupPart, spec);
    else {
      const g = groups().find((e) => e.name === groupPart);
      if (!g) {
        throw new BuildError({
          code: 'TB_EXEC_USER_UNKNOWN',
          message: `unable to find group ${groupPart}: no matching entries in group file`,
          hint: 'create the group in an earlier RUN (addgroup) or use a numeric gid',
        });
      }
      gid = g.gid;
    }
  } else if (name !== undefined) {
    const user = name;
    additionalGids = [...new Set(groups().filter((g) => g.members.includes(user) && g.gid !== gid).map((g) => g.gid))];
  }
  for (const id of [uid, gid, ...additionalGids]) {
    if (id > MAX_ID) throw invalid(spec, `id ${id} from the image is out of range (max ${MAX_ID})`);
  }
  return { uid, gid, additionalGids, home };
}

function isNumeric(s: string): boolean {
  return /^[0-9]+$/.test(s);
}

function parseId(s: string, spec: string): number {
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n > MAX_ID) throw invalid(spec, `id ${s} is out of range (max ${MAX_ID})`);
  return n;
}

function invalid(spec: string, why: string): BuildError {
  return new BuildError({ code: 'TB_EXEC_USER_INVALID', message: `invalid user "${spec}": ${why}` });
}

/** Reads an /etc file of the image, confined to the rootfs; a missing file reads as empty. */
function readEtcFile(rootfs: string, containerPath: string): string {
  let hostPath: string;
  try {
    hostPath = resolveInRoot(rootfs, containerPath).hostPath;
  } catch (e) {
    if (e instanceof ConfinedPathError) return '';
    throw e;
  }
  let fd: number;
  try {
    fd = fs.openSync(hostPath, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch {
    return '';
  }
  try {
    const st = fs.fstatSync(fd);
    // A FIFO or device named /etc/passwd must not block or feed us endless bytes.
    if (!st.isFile() || st.size > MAX_FILE_BYTES) return '';
    const buf = Buffer.alloc(st.size);
    const n = fs.readSync(fd, buf, 0, st.size, 0);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 4 || !isNumeric(f[2]!) || !isNumeric(f[3]!)) continue;
    out.push({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] || '/' });
  }
  return out;
}

function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 3 || !isNumeric(f[2]!)) continue;
    out.push({ name: f[0]!, gid: Number(f[2]), members: (f[3] ?? '').split(',').filter((m) => m !== '') });
  }
  return out;
}
