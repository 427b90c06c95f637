import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tbuild } from '../support/cli.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';
import { seededStore } from '../support/seed.ts';
import { dockerdUnavailable, haveRegistry, startDockerd, startRegistry, type TestDockerd, type TestRegistry } from '../support/services.ts';

describe.skipIf(!isRoot || !haveRegistry())(`image commands against a real registry and dockerd (${NEEDS_ROOT}; Debian docker-registry, docker.io)`, () => {
  let root: string;
  let cleanupStore: () => void;
  let registry: TestRegistry;
  let docker: TestDockerd | undefined;
  const work = tempDir('tbuild-images-');

  beforeAll(async () => {
    const s = await seededStore();
    root = s.root;
    cleanupStore = s.cleanup;
    registry = await startRegistry();
    docker = dockerdUnavailable() ? undefined : await startDockerd({ insecureRegistries: [registry.host] });
    fs.writeFileSync(path.join(work.dir, 'Dockerfile'), 'FROM busybox\nRUN echo built-by-tbuild > /marker\nRUN dd if=/dev/urandom of=/big bs=1M count=9 2>/dev/null && md5sum /big > /big.md5\nCMD ["cat", "/marker"]\n');
    const r = await tbuild(['build', '--root', root, '-t', 'demo:1', '-q', work.dir]);
    expect(r.code, r.stderr).toBe(0);
  }, 180_000);

  afterAll(async () => {
    await docker?.stop();
    await registry?.stop();
    cleanupStore?.();
    work.cleanup();
  });

  it('lists, tags, shows history and removes names', async () => {
    expect((await tbuild(['tag', '--root', root, 'demo:1', 'demo:alias'])).code).toBe(0);
    const images = await tbuild(['images', '--root', root]);
    expect(images.stdout).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/m);
    expect(images.stdout).toMatch(/^demo\s+1\s+[0-9a-f]{12}\s/m);
    expect(images.stdout).toMatch(/^demo\s+alias\s+/m);
    // docker's -q, --no-trunc and REPOSITORY[:TAG] filter, for `rmi $(images -q app)` in scripts.
    const id = JSON.parse((await tbuild(['inspect', '--root', root, 'demo:1'])).stdout)[0].Id as string;
    expect((await tbuild(['images', '--root', root, '-q', 'demo'])).stdout.trim().split('\n')).toEqual([id.slice(7, 19), id.slice(7, 19)]);
    expect((await tbuild(['images', '--root', root, '-q', '--no-trunc', 'demo:alias'])).stdout.trim()).toBe(id);
    const busybox = await tbuild(['images', '--root', root, 'busybox']);
    expect(busybox.stdout).toMatch(/^busybox\s/m);
    expect(busybox.stdout).not.toMatch(/^demo/m);
    const history = await tbuild(['history', '--root', root, 'demo:1']);
    expect(history.stdout).toContain('RUN /bin/sh -c echo built-by-tbuild > /marker # buildkit');
    const rmi = await tbuild(['rmi', '--root', root, 'demo:alias']);
    expect(rmi.code, rmi.stderr).toBe(0);
    expect((await tbuild(['images', '--root', root])).stdout).not.toMatch(/^demo\s+alias/m);
    const missing = await tbuild(['inspect', '--root', root, 'nope:1']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error TB_REGISTRY_\w+: .*nope/);
  });

  it('pushes to a registry and pulls back into an empty store with the same digest', async () => {
    const remote = `${registry.host}/team/demo:1`;
    expect((await tbuild(['tag', '--root', root, 'demo:1', remote])).code).toBe(0);
    const push = await tbuild(['push', '--root', root, remote]);
    expect(push.code, push.stderr).toBe(0);
    const digest = push.stdout.trim().split('@')[1];
    expect(digest).toMatch(/^sha256:/);
    const fresh = tempDir('tbuild-pull-');
    try {
      const pull = await tbuild(['pull', '--root', fresh.dir, remote]);
      expect(pull.code, pull.stderr).toBe(0);
      expect(pull.stdout.trim()).toBe(`${remote}@${digest}`);
      // Unpacked like docker pull: every layer has its snapshot, holding the image's files.
      const snapshots = fs.readdirSync(path.join(fresh.dir, 's'));
      const layers = JSON.parse((await tbuild(['inspect', '--root', fresh.dir, remote])).stdout)[0].RootFS.Layers as string[];
      expect(snapshots.length).toBe(layers.length);
      expect(snapshots.some((s) => fs.existsSync(path.join(fresh.dir, 's', s, 'fs', 'marker')))).toBe(true);
    } finally {
      fresh.cleanup();
    }
  });

  it.skipIf(dockerdUnavailable() !== undefined)('saves an archive docker loads and runs, and loads what docker saves', async () => {
    const tar = path.join(work.dir, 'demo.tar');
    const save = await tbuild(['save', '--root', root, '-o', tar, 'demo:1']);
    expect(save.code, save.stderr).toBe(0);
    const load = await docker!.docker(['load', '-i', tar]);
    expect(load.code, load.stderr).toBe(0);
    expect(load.stdout).toContain('demo:1');
    const run = await docker!.docker(['run', '--rm', '--network', 'none', 'demo:1']);
    expect(run.stdout).toBe('built-by-tbuild\n');
    // A 9 MB layer is several gzip members (at most 4 MB of tar each): docker reads them all.
    const big = await docker!.docker(['run', '--rm', '--network', 'none', 'demo:1', 'md5sum', '-c', '/big.md5']);
    expect(big.stdout).toBe('/big: OK\n');

    const back = path.join(work.dir, 'from-docker.tar');
    expect((await docker!.docker(['tag', 'demo:1', 'roundtrip:2'])).code).toBe(0);
    expect((await docker!.docker(['save', '-o', back, 'roundtrip:2'])).code).toBe(0);
    const loaded = await tbuild(['load', '--root', root, '-i', back]);
    expect(loaded.code, loaded.stderr).toBe(0);
    expect(loaded.stdout).toBe('Loaded image: roundtrip:2\n');
    const same = await tbuild(['inspect', '--root', root, 'roundtrip:2']);
    const orig = await tbuild(['inspect', '--root', root, 'demo:1']);
    expect((JSON.parse(same.stdout) as Array<{ Id: string }>)[0]!.Id).toBe((JSON.parse(orig.stdout) as Array<{ Id: string }>)[0]!.Id);
  });
});
