import fs from 'node:fs';
import path from 'node:path';
import { setMtimeNs } from '../snapshot/sys-helper.ts';
import { resolveInRoot } from './confined-path.ts';

/** A mount point the runtime had to create in the rootfs, to be removed after the run. */
interface Stub {
  containerPath: string;
  kind: 'dir' | 'file';
}

/**
 * Creates the mount points a container needs (/proc, /dev, /etc/hosts, bind targets…) that the
 * image lacks, and removes them again afterwards, so they never end up in the RUN's layer
 * (BuildKit's mount stub cleaner does the same). Paths are resolved inside the rootfs; removal
 * re-resolves and skips anything the RUN turned into a symlink or filled with content, so a
 * hostile RUN cannot steer the cleanup to a host path (CVE-2024-23652) or lose its own files.
 */
export class MountStubs {
  readonly #rootfs: string;
  readonly #stubs: Stub[] = [];
  /** Timestamps of existing dirs that received a stub, restored afterwards so they look untouched. */
  readonly #parents = new Map<string, bigint>();

  constructor(rootfs: string) {
    this.#rootfs = rootfs;
  }

  /** Ensures `target` exists as a `kind` (its parents as dirs); records what was created. */
  ensure(target: string, kind: 'dir' | 'file'): void {
    const parts = target.split('/').filter((c) => c !== '' && c !== '.');
    let current = '/';
    for (let i = 0; i < parts.length; i++) {
      const { hostPath, containerPath } = resolveInRoot(this.#rootfs, path.posix.join(current, parts[i]!));
      current = containerPath;
      if (fs.existsSync(hostPath) || isSymlink(hostPath)) continue;
      // A dangling image symlink resolved somewhere else in the rootfs: make that place's parents.
      if (!fs.existsSync(path.dirname(hostPath))) this.ensure(path.posix.dirname(containerPath), 'dir');
      const last = i === parts.length - 1;
      const parent = path.posix.dirname(containerPath);
      if (!this.#parents.has(parent) && !this.#stubs.some((st) => st.containerPath === parent)) {
        this.#parents.set(parent, fs.statSync(path.dirname(hostPath), { bigint: true }).mtimeNs);
      }
      if (last && kind === 'file') fs.writeFileSync(hostPath, '', { mode: 0o644, flag: 'wx' });
      else fs.mkdirSync(hostPath, { mode: 0o755 });
      this.#stubs.push({ containerPath, kind: last ? kind : 'dir' });
    }
  }

  /** Removes the stubs that are still empty, deepest first. Never throws for a stub that changed. */
  async removeAll(): Promise<void> {
    for (const stub of [...this.#stubs].reverse()) {
      let hostPath: string;
      try {
        const r = resolveInRoot(this.#rootfs, stub.containerPath);
        if (r.containerPath !== stub.containerPath) continue;
        hostPath = r.hostPath;
      } catch {
        continue;
      }
      let st: fs.Stats;
      try {
        st = fs.lstatSync(hostPath);
      } catch {
        continue;
      }
      try {
        if (stub.kind === 'dir' && st.isDirectory() && fs.readdirSync(hostPath).length === 0) fs.rmdirSync(hostPath);
        else if (stub.kind === 'file' && st.isFile() && st.size === 0) fs.unlinkSync(hostPath);
      } catch {
        /* the stub is busy or changed; leaving it is safe */
      }
    }
    this.#stubs.length = 0;
    for (const [containerPath, mtimeNs] of this.#parents) {
      try {
        const r = resolveInRoot(this.#rootfs, containerPath);
        if (r.containerPath === containerPath) await setMtimeNs(r.hostPath, mtimeNs);
      } catch {
        /* gone or changed by the RUN: its timestamps are the RUN's business */
      }
    }
    this.#parents.clear();
  }
}

function isSymlink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
