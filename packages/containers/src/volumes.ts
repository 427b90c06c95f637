import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { resolveInRoot } from '@tbuild/executor';
import { containerError } from './errors.ts';
import type { MountRecord } from './record.ts';
import type { MountRequest } from './run-options.ts';
import { execFileAsync } from '@tbuild/executor';

/** A named volume's data dir: `<store>/volumes/<name>/_data` (docker's layout). Outlives containers. */
export function volumeDataDir(volumesDir: string, name: string): string {
  return path.join(volumesDir, name, '_data');
}

/** Creates the volume if missing; `created` tells the caller to seed it from the image. */
export function ensureVolume(volumesDir: string, name: string): { dir: string; created: boolean } {
  const dir = volumeDataDir(volumesDir, name);
  try {
    fs.mkdirSync(path.dirname(dir), { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return { dir, created: false };
    throw e;
  }
  fs.mkdirSync(dir, { mode: 0o755 });
  return { dir, created: true };
}

export function removeVolume(volumesDir: string, name: string): void {
  fs.rmSync(path.join(volumesDir, name), { recursive: true, force: true });
}

/**
 * Turns the run's mount requests plus the image's VOLUMEs into the container's mounts: named
 * volumes are created on first use, `-v /path` and image VOLUMEs not covered by another mount
 * get an anonymous volume, bind sources must exist. Returns the mounts and the volumes created
 * now (to seed from the image, like docker, once the image is mounted).
 */
export function resolveMounts(
  volumesDir: string,
  requests: MountRequest[],
  imageVolumes: string[],
): { mounts: MountRecord[]; fresh: MountRecord[] } {
  const mounts: MountRecord[] = [];
  const fresh: MountRecord[] = [];
  const targets = new Set<string>();
  const volume = (name: string | undefined, target: string, readonly: boolean): void => {
    const anonymous = name === undefined;
    const n = name ?? crypto.randomBytes(32).toString('hex');
    const v = ensureVolume(volumesDir, n);
    const m: MountRecord = { type: 'volume', name: n, source: v.dir, destination: target, readonly, ...(anonymous ? { anonymous } : {}) };
    mounts.push(m);
    if (v.created) fresh.push(m);
  };
  for (const r of requests) {
    if (targets.has(r.target)) throw containerError('TB_CONTAINER_OPTION_INVALID', `duplicate mount point: ${r.target}`);
    targets.add(r.target);
    if (r.type === 'bind') {
      if (!fs.existsSync(r.source)) {
        throw containerError('TB_CONTAINER_OPTION_INVALID', `bind source path does not exist: ${r.source}`, { hint: 'create it first; tbuild does not create bind sources' });
      }
      mounts.push({ type: 'bind', source: r.source, destination: r.target, readonly: r.readonly });
    } else if (r.type === 'volume') {
      volume(r.name, r.target, r.readonly);
    } else {
      mounts.push({ type: 'tmpfs', source: '', destination: r.target, readonly: false, ...(r.sizeBytes !== undefined ? { sizeBytes: r.sizeBytes } : {}) });
    }
  }
  for (const v of imageVolumes) {
    const t = path.posix.normalize(v);
    if (!t.startsWith('/') || t === '/' || targets.has(t)) continue;
    targets.add(t);
    volume(undefined, t, false);
  }
  return { mounts, fresh };
}

/**
 * Docker's volume copy-up: a volume used for the first time gets what the image has at the
 * mount point (owner, modes, files). `view` is the image's root; the path is resolved inside it.
 */
export async function seedVolume(view: string, m: MountRecord): Promise<void> {
  const src = resolveInRoot(view, m.destination).hostPath;
  let st: fs.Stats;
  try {
    st = fs.statSync(src);
  } catch {
    return;
  }
  if (!st.isDirectory()) return;
  fs.chownSync(m.source, st.uid, st.gid);
  fs.chmodSync(m.source, st.mode & 0o7777);
  if (fs.readdirSync(src).length > 0) await execFileAsync('cp', ['-a', '--', `${src}/.`, m.source]);
}
