import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CONTAINER_REF_PREFIX, type Store } from '@tbuild/cache';
import { containerError } from './errors.ts';
import { containerPaths, type ContainerPaths } from './paths.ts';
import { initialState, type ContainerRecord, type ContainerState } from './record.ts';

/** Docker's rule for container and volume names. */
export const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/**
 * The containers area of a store: `<store>/containers/<id>/` per container and
 * `<store>/volumes/<name>/_data` per named volume. Records and states are JSON files replaced
 * atomically (write, fsync, rename), so a reader never sees half a file. Creating a container
 * holds the store lock `containers`, which makes names unique across processes.
 */
export class ContainerStore {
  readonly containersDir: string;
  readonly volumesDir: string;

  private constructor(readonly store: Store) {
    this.containersDir = path.join(store.root, 'containers');
    this.volumesDir = path.join(store.root, 'volumes');
  }

  static async open(store: Store): Promise<ContainerStore> {
    const cs = new ContainerStore(store);
    // The store root is 0700 already; these hold container roots with setuid files, so keep them private too.
    fs.mkdirSync(cs.containersDir, { recursive: true, mode: 0o700 });
    fs.mkdirSync(cs.volumesDir, { recursive: true, mode: 0o700 });
    return cs;
  }

  paths(id: string): ContainerPaths {
    if (!/^[0-9a-f]{64}$/.test(id)) throw new Error(`invalid container id ${JSON.stringify(id)}`);
    return containerPaths(this.containersDir, id);
  }

  /** Every container with a readable record, oldest first. */
  list(): ContainerRecord[] {
    const out: ContainerRecord[] = [];
    for (const name of safeReaddir(this.containersDir)) {
      if (!/^[0-9a-f]{64}$/.test(name)) continue;
      const rec = readJson<ContainerRecord>(path.join(this.containersDir, name, 'container.json'));
      if (rec && rec.id === name) out.push(rec);
    }
    return out.sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : a.id < b.id ? -1 : 1));
  }

  /** Finds a container by full id, unique id prefix or name (docker's lookup order). */
  resolve(idOrName: string): ContainerRecord {
    const all = this.list();
    const key = idOrName.replace(/^\//, '');
    const exact = all.find((c) => c.id === key) ?? all.find((c) => c.name === key);
    if (exact) return exact;
    const byPrefix = /^[0-9a-f]+$/.test(key) ? all.filter((c) => c.id.startsWith(key)) : [];
    if (byPrefix.length === 1) return byPrefix[0]!;
    if (byPrefix.length > 1) {
      throw containerError('TB_CONTAINER_AMBIGUOUS', `multiple containers match "${idOrName}"`, { hint: 'give more characters of the id, or the name' });
    }
    throw containerError('TB_CONTAINER_NOT_FOUND', `no such container: ${idOrName}`, { hint: 'list containers with `tbuild ps -a`' });
  }

  readState(id: string): ContainerState {
    return readJson<ContainerState>(this.paths(id).state) ?? initialState();
  }

  writeState(id: string, state: ContainerState): void {
    writeJsonAtomic(this.paths(id).state, state);
  }

  /** Creates the container's directory and record; `--name` collisions are refused. */
  async create(rec: ContainerRecord): Promise<ContainerPaths> {
    const release = await this.store.lock('containers');
    try {
      const taken = this.list().find((c) => c.name === rec.name);
      if (taken) {
        throw containerError('TB_CONTAINER_NAME_IN_USE', `the container name "/${rec.name}" is already in use by container "${taken.id}"`, {
          hint: `remove (or rename) that container to be able to reuse that name: tbuild rm ${rec.name}`,
        });
      }
      const p = this.paths(rec.id);
      fs.mkdirSync(p.dir, { mode: 0o700 });
      for (const d of [p.init, p.upper, p.work, p.rootfs, p.links, p.runtime, path.dirname(p.log), p.attach]) fs.mkdirSync(d, { recursive: true, mode: 0o700 });
      // The upper dir is the root of every new file's parent chain: 0755 like an image root.
      fs.chmodSync(p.upper, 0o755);
      fs.chmodSync(p.init, 0o755);
      writeJsonAtomic(p.state, initialState());
      writeJsonAtomic(p.record, rec);
      await this.store.setRef(CONTAINER_REF_PREFIX + rec.id, rec.image.digest);
      return p;
    } finally {
      await release();
    }
  }

  /** Deletes the container's files and its image ref. The caller has stopped it and unmounted its root. */
  async delete(id: string): Promise<void> {
    const p = this.paths(id);
    // Without its record the container no longer exists for anyone; the rest is then garbage.
    fs.rmSync(p.record, { force: true });
    fs.rmSync(p.dir, { recursive: true, force: true });
    await this.store.deleteRef(CONTAINER_REF_PREFIX + id);
  }
}

export function newContainerId(): string {
  return crypto.randomBytes(32).toString('hex');
}

export function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

export function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, JSON.stringify(value, null, 2));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}
