import fs from 'node:fs';
import { getImage } from '@tbuild/registry';
import { NAME_RE, newContainerId, type ContainerStore } from './container-store.ts';
import { containerError } from './errors.ts';
import { imageLowers } from './image-layers.ts';
import { randomName } from './names.ts';
import type { ContainerRecord, HostConfig } from './record.ts';
import { buildInitLayer } from './rootfs.ts';
import { resolveContainerConfig, type ConfigOverrides } from './run-config.ts';
import type { PortBinding } from './ports.ts';
import type { MountRequest } from './run-options.ts';
import { removeVolume, resolveMounts, seedVolume } from './volumes.ts';

/** What `tbuild run`/`create` asks for, already parsed (see run-options.ts for the flag parsers). */
export interface CreateOptions extends ConfigOverrides {
  /** Image name, name@digest, manifest digest or image ID, as stored locally. */
  image: string;
  name?: string;
  mounts?: MountRequest[];
  network?: 'bridge' | 'none' | 'host';
  /** `-p` bindings (ports.ts: parsePublish); they need the bridge. */
  publish?: PortBinding[];
  /** `-P`: publish every TCP port the image EXPOSEs on any free host port. */
  publishAll?: boolean;
  memoryBytes?: number;
  nanoCpus?: number;
  pidsLimit?: number;
  readOnly?: boolean;
  autoRemove?: boolean;
  /** Seconds between the stop signal and SIGKILL; default 10 like docker. */
  stopTimeout?: number;
  tty?: boolean;
  openStdin?: boolean;
  consoleSize?: [number, number];
}

/**
 * Creates a container from a stored image without starting it: the record, the init layer with
 * the mount points the image lacks, and its volumes (named ones created and seeded from the image
 * on first use). The image's layers are unpacked into the store's shared snapshots if needed;
 * nothing of the image is copied. On failure nothing of the container remains.
 */
export async function createContainer(cs: ContainerStore, o: CreateOptions): Promise<ContainerRecord> {
  const image = await getImage(cs.store, o.image);
  const id = newContainerId();
  const hostname = o.hostname ?? id.slice(0, 12);
  const { path: procPath, args, config } = resolveContainerConfig(image.config.config, { ...o, hostname });
  let name = o.name;
  if (name !== undefined) {
    name = name.replace(/^\//, '');
    if (!NAME_RE.test(name)) {
      throw containerError('TB_CONTAINER_NAME_INVALID', `invalid container name "${o.name}"`, { hint: 'only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed' });
    }
  } else {
    const taken = new Set(cs.list().map((c) => c.name));
    do name = randomName();
    while (taken.has(name) && taken.size < 400);
    if (taken.has(name)) name = `${name}_${id.slice(0, 6)}`;
  }
  const publish = [...(o.publish ?? [])];
  if (o.publishAll) {
    for (const key of Object.keys(config.ExposedPorts ?? {})) {
      const [port, proto = 'tcp'] = key.split('/');
      // UDP cannot be forwarded (ports.ts); -P publishes what it can, as the TCP ports are what it is for.
      if (proto === 'tcp' && !publish.some((b) => b.containerPort === Number(port))) publish.push({ hostIp: '0.0.0.0', hostPort: 0, containerPort: Number(port), proto: 'tcp' });
    }
  }
  if (publish.length && (o.network ?? 'bridge') !== 'bridge') {
    throw containerError('TB_CONTAINER_UNSUPPORTED', `-p needs the bridge network, not --network ${o.network}`, {
      hint: o.network === 'host' ? "drop -p: on the host network the container listens on the host's ports itself" : 'drop --network none to publish ports',
    });
  }
  const lowers = await imageLowers(cs.store, image);
  const { mounts, fresh } = resolveMounts(cs.volumesDir, o.mounts ?? [], Object.keys(config.Volumes ?? {}));
  const hostConfig: HostConfig = {
    autoRemove: o.autoRemove ?? false,
    networkMode: o.network ?? 'bridge',
    ...(publish.length ? { portBindings: publish } : {}),
    memory: o.memoryBytes ?? 0,
    nanoCpus: o.nanoCpus ?? 0,
    pidsLimit: o.pidsLimit ?? 0,
    readonlyRootfs: o.readOnly ?? false,
    stopTimeout: o.stopTimeout ?? 10,
    ...(o.tty ? { tty: true } : {}),
    ...(o.openStdin ? { openStdin: true } : {}),
    ...(o.consoleSize ? { consoleSize: o.consoleSize } : {}),
  };
  const rec: ContainerRecord = {
    id,
    name,
    created: new Date().toISOString(),
    image: { ref: o.image, digest: image.digest, configDigest: image.configDigest },
    path: procPath,
    args,
    config,
    hostConfig,
    mounts,
  };
  let created = false;
  try {
    const p = await cs.create(rec);
    created = true;
    const stubs = mounts.map((m) => ({ target: m.destination, kind: m.type === 'bind' && !fs.statSync(m.source).isDirectory() ? ('file' as const) : ('dir' as const) }));
    await buildInitLayer(p, lowers, stubs, async (view) => {
      for (const m of fresh) await seedVolume(view, m);
    });
    return rec;
  } catch (e) {
    if (created) await cs.delete(id);
    for (const m of fresh) removeVolume(cs.volumesDir, m.name!);
    throw e;
  }
}
