import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { busyboxImage, dockerdUnavailable, haveRegistry, startDockerd, startRegistry, type TestDockerd, type TestRegistry } from '../../../test/support/services.ts';
import { hasCommand } from '../../../test/support/root.ts';
import { haveBusybox } from '../../../test/support/busybox.ts';
import { loadArchive } from './archive-load.ts';
import { saveArchive } from './archive-save.ts';
import { getImage } from './image-store.ts';
import { RegistryClient } from './registry-client.ts';
import { openTestStore } from './testing/store.ts';

const skip = dockerdUnavailable() ?? (!haveRegistry() ? 'docker-registry not installed' : !haveBusybox() ? 'busybox-static not installed' : undefined);
const anonymous = { credentials: async () => undefined };

describe.skipIf(skip !== undefined)(`interoperability with dockerd and skopeo${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let reg: TestRegistry;
  let dockerd: TestDockerd | undefined;
  let store: Awaited<ReturnType<typeof openTestStore>>;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tbuild-interop-'));

  const docker = async (...args: string[]): Promise<string> => {
    const r = await dockerd!.docker(args);
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout.trim();
  };

  beforeAll(async () => {
    reg = await startRegistry();
    store = await openTestStore();
    dockerd = await startDockerd({ insecureRegistries: [reg.host] });
  });
  afterAll(async () => {
    await dockerd?.stop();
    await reg?.stop();
    store?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('docker load accepts saveArchive output and runs the image', async () => {
    if (!dockerd) return expect.fail('dockerd did not start');
    const base = await busyboxImage(store, 'tb-saved:1');
    const file = path.join(work, 'saved.tar');
    await saveArchive(store, [base.ref], file);
    const out = await dockerd.docker(['load', '-i', file]);
    expect(out.stderr).toBe('');
    expect(out.stdout).toContain('Loaded image: tb-saved:1');
    expect(await docker('image', 'inspect', '--format', '{{.Id}}', 'tb-saved:1')).toBe(base.configDigest);
    expect(await docker('run', '--rm', '--network', 'none', 'tb-saved:1', 'sh', '-c', 'echo loaded-$((6*7))')).toBe('loaded-42');
  });

  it('an image tbuild pushes is pulled and run by docker and inspected by skopeo', async () => {
    if (!dockerd) return expect.fail('dockerd did not start');
    const base = await busyboxImage(store, 'tb-pushed:1');
    const remote = `${reg.host}/tb/pushed:1`;
    const pushed = await new RegistryClient(anonymous).push(store, base.ref, remote);
    await docker('pull', remote);
    expect(await docker('image', 'inspect', '--format', '{{.Id}} {{index .RepoDigests 0}}', remote)).toBe(`${base.configDigest} ${reg.host}/tb/pushed@${pushed.digest}`);
    expect(await docker('run', '--rm', '--network', 'none', remote, 'cat', '/etc/group')).toContain('app:x:1000:');
    if (hasCommand('skopeo')) {
      const { stdout } = await promisify(execFile)('skopeo', ['inspect', '--tls-verify=false', `docker://${remote}`]);
      expect(JSON.parse(stdout)).toMatchObject({ Digest: pushed.digest, Os: 'linux', Layers: (await getImage(store, base.ref)).manifest.layers.map((l) => l.digest) });
    }
  });

  it('an image dockerd pushed is pulled by tbuild with the same digests, and docker save output loads', async () => {
    if (!dockerd) return expect.fail('dockerd did not start');
    // Give docker its own copy of the base, then a derived image with a second layer.
    const base = await busyboxImage(store, 'tb-base:1');
    await saveArchive(store, [base.ref], path.join(work, 'base.tar'));
    await docker('load', '-i', path.join(work, 'base.tar'));
    const ctx = path.join(work, 'ctx');
    fs.mkdirSync(ctx, { recursive: true });
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM tb-base:1\nRUN echo from-docker > /marker\nENV X=1\n');
    const remote = `${reg.host}/fromdocker/img:1`;
    const built = await dockerd.docker(['build', '-q', '--network', 'none', '-t', remote, ctx]);
    if (built.code !== 0) throw new Error(`docker build failed: ${built.stderr}`);
    await docker('push', remote);
    const [id, repoDigest] = (await docker('image', 'inspect', '--format', '{{.Id}} {{index .RepoDigests 0}}', remote)).split(' ');

    const s = await openTestStore();
    try {
      const pulled = await new RegistryClient(anonymous).pull(s, remote);
      expect(pulled.configDigest).toBe(id);
      expect(`${reg.host}/fromdocker/img@${pulled.digest}`).toBe(repoDigest);
      expect(pulled.config.config?.Env).toContain('X=1');
      expect(pulled.manifest.layers).toHaveLength(2);

      const saved = path.join(work, 'docker-saved.tar');
      await docker('save', '-o', saved, remote);
      const s2 = await openTestStore();
      try {
        const [img] = await loadArchive(s2, saved);
        expect(img).toMatchObject({ configDigest: id, tags: [remote] });
        expect((await getImage(s2, remote)).config.rootfs.diff_ids).toEqual(pulled.config.rootfs.diff_ids);
      } finally {
        s2.cleanup();
      }
    } finally {
      s.cleanup();
    }
  });
});
