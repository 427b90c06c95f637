import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { digestHex } from '../digest.ts';
import { atomicCreate, isErrno } from './fs-util.ts';
import { ownedName } from './process-id.ts';

// Overlay's lowerdir option must fit in one page with dozens of layers, so snapshot dirs are
// named by 16 hex digits of the diffID, not 64. Each slot records the full diffID in a `diffid`
// file; two diffIDs sharing a prefix take slots `<prefix>`, `<prefix>.1`, … A slot's `fs` dir
// appears by one rename, so a slot is complete exactly when `fs` exists.
const MAX_SLOTS = 64;

export interface SnapshotSlot {
  dir: string;
  fs: string;
}

function slotDir(snapDir: string, diffId: string, i: number): string {
  const short = digestHex(diffId).slice(0, 16);
  return path.join(snapDir, i === 0 ? short : `${short}.${i}`);
}

function readMarker(dir: string): string | undefined {
  try {
    return fsSync.readFileSync(path.join(dir, 'diffid'), 'utf8').trim();
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) return undefined;
    throw e;
  }
}

/** The slot holding `diffId`, or the first free slot it would take. */
export function findSlot(snapDir: string, diffId: string): SnapshotSlot {
  for (let i = 0; i < MAX_SLOTS; i++) {
    const dir = slotDir(snapDir, diffId, i);
    const marker = readMarker(dir);
    if (marker === undefined || marker === diffId) return { dir, fs: path.join(dir, 'fs') };
  }
  throw new Error(`more than ${MAX_SLOTS} snapshots share the prefix of ${diffId}`);
}

/** Claims (or finds) the slot of `diffId`; concurrent claimers of one diffID share a slot. */
export async function claimSlot(snapDir: string, tmpDir: string, diffId: string): Promise<SnapshotSlot> {
  for (let i = 0; i < MAX_SLOTS; i++) {
    const dir = slotDir(snapDir, diffId, i);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    // Not synced: a snapshot's files never are (nor are containerd's), so after a power loss
    // a slot may be incomplete anyway; a marker lost or empty makes it one gc removes.
    if (!(await atomicCreate(path.join(tmpDir, ownedName()), path.join(dir, 'diffid'), `${diffId}\n`, { durable: false }))) {
      if (readMarker(dir) !== diffId) continue;
    }
    return { dir, fs: path.join(dir, 'fs') };
  }
  throw new Error(`more than ${MAX_SLOTS} snapshots share the prefix of ${diffId}`);
}

export async function isComplete(slot: SnapshotSlot): Promise<boolean> {
  try {
    return fsSync.lstatSync(slot.fs).isDirectory();
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return false;
    throw e;
  }
}

/** Every slot on disk with its recorded diffID (undefined when the marker is missing). */
export async function listSlots(snapDir: string): Promise<Array<SnapshotSlot & { diffId: string | undefined; name: string }>> {
  const names = await fs.readdir(snapDir).catch(() => [] as string[]);
  return names.map((name) => {
    const dir = path.join(snapDir, name);
    return { name, dir, fs: path.join(dir, 'fs'), diffId: readMarker(dir) };
  });
}
