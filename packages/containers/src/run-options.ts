import path from 'node:path';
import { containerError } from './errors.ts';
import { NAME_RE } from './container-store.ts';

/** A `-v`/`--mount`/`--tmpfs` request before volumes are created or paths checked. */
export type MountRequest =
  | { type: 'bind'; source: string; target: string; readonly: boolean }
  | { type: 'volume'; name?: string; target: string; readonly: boolean }
  | { type: 'tmpfs'; target: string; sizeBytes?: number; mode?: number };

function invalid(message: string, hint?: string): Error {
  return containerError('TB_CONTAINER_OPTION_INVALID', message, { hint });
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** Docker's RAMInBytes: `512m`, `1g`, `1.5GiB`, `1024` (bytes); binary multiples. */
export function parseBytes(value: string, flag = '--memory'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?\s*$/i.exec(value);
  if (!m) throw invalid(`invalid size "${value}" for ${flag}`, 'use a number with an optional unit: b, k, m, g (e.g. 512m)');
  const unit = m[2]!.toLowerCase() || (m[3] ? 'b' : '');
  const n = Math.floor(Number(m[1]) * UNITS[unit]!);
  if (!Number.isSafeInteger(n) || n <= 0) throw invalid(`invalid size "${value}" for ${flag}`);
  return n;
}

/** `--cpus 1.5` → docker's NanoCpus (1.5e9). */
export function parseCpus(value: string): number {
  const n = Number(value);
  if (!/^\s*\d*\.?\d+\s*$/.test(value) || !Number.isFinite(n) || n <= 0) throw invalid(`invalid value "${value}" for --cpus`, 'give a positive number of CPUs, e.g. 0.5 or 2');
  return Math.round(n * 1e9);
}

function checkTarget(target: string, spec: string): string {
  if (!target.startsWith('/')) throw invalid(`invalid mount "${spec}": the container path "${target}" is not absolute`);
  const n = path.posix.normalize(target);
  if (n === '/') throw invalid(`invalid mount "${spec}": cannot mount over the container's root`);
  return n;
}

/**
 * `-v` in docker's three forms: `/ctr` (anonymous volume), `name:/ctr[:ro]` (named volume),
 * `/host:/ctr[:ro]` (bind mount; the host path is made absolute against `cwd`).
 */
export function parseVolumeFlag(spec: string, cwd: string): MountRequest {
  const parts = spec.split(':');
  if (parts.length === 1) return { type: 'volume', target: checkTarget(parts[0]!, spec), readonly: false };
  if (parts.length > 3 || parts.some((p) => p === '')) throw invalid(`invalid volume specification "${spec}"`, 'use HOST_PATH:CONTAINER_PATH[:ro] or NAME:CONTAINER_PATH[:ro]');
  const [src, dst, opts = ''] = parts as [string, string, string?];
  let readonly = false;
  for (const o of opts.split(',').filter((x) => x)) {
    if (o === 'ro') readonly = true;
    else if (o === 'rw') readonly = false;
    else throw invalid(`invalid mode "${o}" in volume "${spec}"`, 'supported modes: ro, rw');
  }
  const target = checkTarget(dst, spec);
  if (src.startsWith('/') || src.startsWith('.') || src.startsWith('~')) {
    return { type: 'bind', source: path.resolve(cwd, src), target, readonly };
  }
  checkVolumeName(src);
  return { type: 'volume', name: src, target, readonly };
}

export function checkVolumeName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw containerError('TB_CONTAINER_NAME_INVALID', `"${name}" includes invalid characters for a local volume name`, {
      hint: 'only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed; use an absolute path for a bind mount',
    });
  }
}

/** `--mount type=bind|volume|tmpfs,source=…,target=…,readonly,tmpfs-size=…,tmpfs-mode=…`. */
export function parseMountFlag(spec: string, cwd: string): MountRequest {
  const kv = new Map<string, string>();
  for (const field of spec.split(',')) {
    const eq = field.indexOf('=');
    const k = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    if (!k) continue;
    kv.set(k, eq < 0 ? 'true' : field.slice(eq + 1));
  }
  const type = kv.get('type') ?? 'volume';
  const target = kv.get('target') ?? kv.get('destination') ?? kv.get('dst');
  if (!target) throw invalid(`invalid --mount "${spec}": target is required`);
  const source = kv.get('source') ?? kv.get('src');
  const roValue = kv.get('readonly') ?? kv.get('ro');
  const readonly = roValue !== undefined && roValue !== 'false' && roValue !== '0';
  const t = checkTarget(target, spec);
  switch (type) {
    case 'bind':
      if (!source) throw invalid(`invalid --mount "${spec}": a bind mount needs source=`);
      return { type: 'bind', source: path.resolve(cwd, source), target: t, readonly };
    case 'volume':
      if (source) checkVolumeName(source);
      return { type: 'volume', ...(source ? { name: source } : {}), target: t, readonly };
    case 'tmpfs': {
      const size = kv.get('tmpfs-size');
      const mode = kv.get('tmpfs-mode');
      return tmpfsRequest(t, size, mode, spec);
    }
    default:
      throw invalid(`invalid --mount "${spec}": unknown type "${type}"`, 'supported types: bind, volume, tmpfs');
  }
}

/** `--tmpfs /path[:size=64m,mode=1777]`. */
export function parseTmpfsFlag(spec: string): MountRequest {
  const colon = spec.indexOf(':');
  const target = checkTarget(colon < 0 ? spec : spec.slice(0, colon), spec);
  let size: string | undefined;
  let mode: string | undefined;
  for (const o of (colon < 0 ? '' : spec.slice(colon + 1)).split(',').filter((x) => x)) {
    const [k, v] = o.split('=') as [string, string?];
    if (k === 'size' && v) size = v;
    else if (k === 'mode' && v) mode = v;
    else if (!['rw', 'noexec', 'exec', 'nosuid', 'nodev'].includes(k)) throw invalid(`unsupported tmpfs option "${o}" in "${spec}"`, 'supported: size=, mode=');
  }
  return tmpfsRequest(target, size, mode, spec);
}

function tmpfsRequest(target: string, size: string | undefined, mode: string | undefined, spec: string): MountRequest {
  const req: MountRequest = { type: 'tmpfs', target };
  if (size !== undefined) req.sizeBytes = parseBytes(size, 'tmpfs size');
  if (mode !== undefined) {
    if (!/^[0-7]{1,4}$/.test(mode)) throw invalid(`invalid tmpfs mode "${mode}" in "${spec}"`, 'give an octal mode such as 1777');
    req.mode = parseInt(mode, 8);
  }
  return req;
}

/**
 * Lines of an `--env-file`: `KEY=value` taken literally (no quotes processing, like docker),
 * `KEY` alone takes the value from `hostEnv`, `#` comments and blank lines skipped.
 */
export function parseEnvFile(text: string, file: string): string[] {
  const out: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) return;
    const key = line.split('=')[0]!;
    if (/\s/.test(key) || key === '') throw invalid(`${file}:${i + 1}: variable "${key}" contains whitespace or is empty`);
    out.push(line);
  });
  return out;
}

/** Docker's signal names and numbers for `--stop-signal`, `kill -s` and STOPSIGNAL. */
export function normalizeSignal(sig: string): string {
  const s = sig.trim().toUpperCase();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n < 1 || n > 64) throw invalid(`invalid signal: ${sig}`);
    return String(n);
  }
  const name = s.startsWith('SIG') ? s : `SIG${s}`;
  if (!/^SIG(RTMIN|RTMAX)?[A-Z0-9+-]*$/.test(name) || !(name in SIGNALS)) throw invalid(`invalid signal: ${sig}`, 'use a name like SIGTERM, TERM, KILL, or a number');
  return name;
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGUSR1: 10,
  SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGSTKFLT: 16, SIGCHLD: 17, SIGCONT: 18, SIGSTOP: 19,
  SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22, SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28,
  SIGIO: 29, SIGPWR: 30, SIGSYS: 31,
};
