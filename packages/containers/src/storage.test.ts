import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '@tbuild/cache';
import { getImage } from '@tbuild/registry';
import { busyboxImage } from '../../../test/support/services.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../../../test/support/root.ts';
import { commitContainer } from './commit.ts';
import { ContainerStore } from './container-store.ts';
import { createContainer, type CreateOptions } from './create.ts';
import { inspectContainer } from './inspect.ts';
import { removeContainer, startContainer, stopContainer, waitContainer, type SupervisorLauncher } from './lifecycle.ts';
import { readLogSnapshot } from './log-file.ts';
import { parseVolumeFlag } from './run-options.ts';
import { bundledSupervisor } from './test-support.ts';
import { volumeDataDir } from './volumes.ts';

describe.skipIf(!isRoot)(`container storage with real runc and overlayfs (${NEEDS_ROOT})`, () => {
  let tmp: ReturnType<typeof tempDir>;
  let cs: ContainerStore;
  let launch: SupervisorLauncher;
  let cleanupBundle: () => void;

  beforeAll(async () => {
    tmp = tempDir('tbuild-containers-');
    const store = await Store.open(path.join(tmp.dir, 'store'));
    cs = await ContainerStore.open(store);
    await busyboxImage(store, 'busybox:latest');
    ({ launch, cleanup: cleanupBundle } = await bundledSupervisor());
  });

  afterAll(async () => {
    for (const c of cs?.list() ?? []) await removeContainer(cs, c.id, { force: true, volumes: true }).catch(() => undefined);
    cleanupBundle?.();
    tmp?.cleanup();
  });

  const sh = (script: string, extra: Partial<CreateOptions> = {}): CreateOptions => ({ image: 'busybox', command: ['sh', '-c', script], ...extra });
  const output = (id: string): string => readLogSnapshot(cs.paths(id).log).records.map((r) => r.log).join('');
  async function runToEnd(o: CreateOptions): Promise<{ id: string; exitCode: number; out: string; oomKilled: boolean }> {
    const rec = await createContainer(cs, o);
    await startContainer(cs, rec.id, launch);
    const s = await waitContainer(cs, rec.id);
    return { id: rec.id, exitCode: s.exitCode, out: output(rec.id), oomKilled: s.oomKilled };
  }

  it('a bind mount shows host files; a named volume keeps its data after rm', async () => {
    const host = path.join(tmp.dir, 'host');
    fs.mkdirSync(host);
    fs.writeFileSync(path.join(host, 'in.txt'), 'from host\n');
    const first = await runToEnd(
      sh('cat /h/in.txt; echo persisted > /data/kept; (echo x > /ro/y) 2>/dev/null || echo read-only', {
        mounts: [parseVolumeFlag(`${host}:/h`, tmp.dir), parseVolumeFlag('keep:/data', tmp.dir), parseVolumeFlag(`${host}:/ro:ro`, tmp.dir)],
      }),
    );
    expect(first.out).toBe('from host\nread-only\n');
    expect(first.exitCode).toBe(0);
    await removeContainer(cs, first.id, { volumes: true });
    expect(fs.readFileSync(path.join(volumeDataDir(cs.volumesDir, 'keep'), 'kept'), 'utf8')).toBe('persisted\n');
    const second = await runToEnd(sh('cat /data/kept', { mounts: [parseVolumeFlag('keep:/data', tmp.dir)] }));
    expect(second.out).toBe('persisted\n');
  });

  it('a container over its memory limit is reported OOM-killed, and the limit is visible in inspect', async () => {
    // tail keeps the whole (never-ending) last line of /dev/zero in memory.
    const r = await runToEnd({ image: 'busybox', command: ['tail', '/dev/zero'], memoryBytes: 32 * 1024 * 1024 });
    expect(r.exitCode).toBe(137);
    expect(r.oomKilled).toBe(true);
    const info = (await inspectContainer(cs, r.id)) as { State: { OOMKilled: boolean }; HostConfig: { Memory: number } };
    expect(info.State.OOMKilled).toBe(true);
    expect(info.HostConfig.Memory).toBe(32 * 1024 * 1024);
  });

  it('a container with a memory limit that exits 137 without an OOM kill is not reported OOM-killed', async () => {
    const r = await runToEnd({ image: 'busybox', command: ['sh', '-c', 'sleep 5 & kill -9 $!; wait $!'], memoryBytes: 32 * 1024 * 1024 });
    expect(r.exitCode).toBe(137);
    expect(r.oomKilled).toBe(false);
  });

  it('commit turns the upper dir into a layer; the committed image runs with its new config', async () => {
    const base = await getImage(cs.store, 'busybox');
    const made = await runToEnd(sh('mkdir -p /opt/app && echo installed > /opt/app/file && rm /bin/vi', { env: ['BUILT=yes'] }));
    expect(made.exitCode).toBe(0);
    const res = await commitContainer(cs, made.id, { ref: 'committed:1', changes: ['CMD ["sh", "-c", "cat /opt/app/file; echo $BUILT; test -e /bin/vi || echo no-vi; ls /proc/self >/dev/null && echo proc"]'], message: 'smoke' });
    expect(res.ref).toBe('docker.io/library/committed:1');
    const img = await getImage(cs.store, 'committed:1');
    expect(img.manifest.layers.length).toBe(base.manifest.layers.length + 1);
    expect(img.config.history?.at(-1)?.comment).toBe('smoke');
    expect(img.config.config?.Hostname).toBeUndefined();
    const run = await runToEnd({ image: 'committed:1' });
    expect(run.out).toBe('installed\nyes\nno-vi\nproc\n');
  });

  it('commit leaves out the runtime mount points of the init layer', async () => {
    const made = await runToEnd(sh('true'));
    const res = await commitContainer(cs, made.id);
    // busybox has no /proc, /dev, /sys or /etc/hosts: they live in the init layer, not in the upper dir.
    expect(res.layer).toBeUndefined();
    const img = await getImage(cs.store, res.digest);
    expect(img.config.history?.at(-1)?.empty_layer).toBe(true);
  });

  it('two containers from one image share its unpacked layers (no copy)', async () => {
    const a = await createContainer(cs, sh('sleep 30'));
    const b = await createContainer(cs, sh('sleep 30'));
    await startContainer(cs, a.id, launch);
    await startContainer(cs, b.id, launch);
    const lowers = (id: string): string[] => {
      const links = cs.paths(id).links;
      return fs.readdirSync(links).sort().map((l) => fs.readlinkSync(path.join(links, l)));
    };
    // l/0 is each container's own init layer; the image's snapshot dirs below it are the same dirs.
    expect(lowers(a.id).slice(1)).toEqual(lowers(b.id).slice(1));
    expect(lowers(a.id)[1]).toBe(cs.store.snapshotPath((await getImage(cs.store, 'busybox')).config.rootfs.diff_ids[0]!));
    const busyboxIno = fs.statSync(path.join(lowers(a.id)[1]!, 'bin/busybox')).ino;
    for (const c of [a, b]) {
      expect(fs.existsSync(path.join(cs.paths(c.id).upper, 'bin'))).toBe(false);
      // The merged root serves the one stored file (overlay reports the lower's inode for files it did not copy up).
      expect(fs.statSync(path.join(cs.paths(c.id).rootfs, 'bin/busybox')).ino).toBe(busyboxIno);
    }
    await stopContainer(cs, a.id, { timeoutSec: 0 });
    await stopContainer(cs, b.id, { timeoutSec: 0 });
  });
});
