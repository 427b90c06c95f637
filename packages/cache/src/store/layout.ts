import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cacheError } from '../errors.ts';
import { atomicCreate, readIfExists } from './fs-util.ts';
import { ownedName } from './process-id.ts';

/** Bump when the on-disk layout changes incompatibly; docs/store.md describes each version. */
export const LAYOUT_VERSION = 1;

/** Subdirectories of a store root (docs/store.md). */
export const DIRS = {
  blobs: 'blobs/sha256',
  snapshots: 's',
  steps: 'steps',
  refs: 'refs',
  meta: 'meta',
  locks: 'locks',
  leases: 'leases',
  tmp: 'tmp',
  mounts: 'mounts',
  run: 'run',
  containers: 'containers',
  volumes: 'volumes',
} as const;

/**
 * Where the store lives when the CLI gets no `--root`: `TBUILD_ROOT`, else
 * `$XDG_DATA_HOME/tbuild`, else `~/.local/share/tbuild`. Takes the environment as data so the
 * CLI stays the only place that reads process.env.
 */
export function defaultStoreRoot(env: Record<string, string | undefined>): string {
  if (env.TBUILD_ROOT) return path.resolve(env.TBUILD_ROOT);
  if (env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME)) return path.join(env.XDG_DATA_HOME, 'tbuild');
  return path.join(env.HOME || os.homedir(), '.local', 'share', 'tbuild');
}

/**
 * Creates the layout under `root` (0700: extracted images hold setuid binaries that other host
 * users must not reach, CVE-2021-41091) and checks its VERSION file. A newer layout is refused
 * rather than half-understood; a non-empty directory without VERSION is not ours.
 */
export async function prepareLayout(root: string): Promise<void> {
  // Every open makes sure of the layout; synchronously, as fs-util.ts's readIfExists reads.
  fsSync.mkdirSync(root, { recursive: true, mode: 0o700 });
  const versionFile = path.join(root, 'VERSION');
  let raw = await readIfExists(versionFile);
  if (raw === undefined) {
    const existing = (await fs.readdir(root)).filter((n) => !n.startsWith('.'));
    // A concurrent open writes VERSION before anything else, so entries without it are foreign.
    raw = existing.length > 0 ? await readIfExists(versionFile) : undefined;
    if (existing.length > 0 && raw === undefined) {
      throw cacheError('TB_CACHE_LAYOUT_INVALID', `${root} is not empty and is not a tbuild store (no VERSION file)`, {
        hint: 'pass --root pointing at an empty or existing tbuild store directory',
      });
    }
  }
  if (raw === undefined) {
    // Linked into place complete, so a concurrent open never reads an empty VERSION; EEXIST
    // means that open created it first.
    await atomicCreate(path.join(root, `.VERSION.${ownedName()}`), versionFile, `${LAYOUT_VERSION}\n`);
  } else {
    checkVersion(root, versionFile, raw);
  }
  for (const d of Object.values(DIRS)) fsSync.mkdirSync(path.join(root, d), { recursive: true, mode: 0o700 });
}

function checkVersion(root: string, versionFile: string, raw: Buffer): void {
  const v = Number(raw.toString().trim());
  if (!Number.isInteger(v) || v < 1) {
    throw cacheError('TB_CACHE_LAYOUT_INVALID', `${versionFile} does not hold a layout version`);
  }
  if (v > LAYOUT_VERSION) {
    throw cacheError('TB_CACHE_LAYOUT_TOO_NEW', `store ${root} has layout version ${v}; this tbuild understands up to ${LAYOUT_VERSION}`, {
      hint: 'upgrade tbuild, or use another --root',
    });
  }
}
