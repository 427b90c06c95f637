import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tbuild } from '../support/cli.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';
import { seededStore } from '../support/seed.ts';

// Two steps that make the same change give the same layer, so the image holds one layer twice.
// Its snapshot then comes twice in the stack the next step and a container mount.
describe.skipIf(!isRoot)(`an image that holds one layer twice (${NEEDS_ROOT})`, () => {
  const work = tempDir('tbuild-repeated-');
  const stores: Array<{ cleanup: () => void }> = [];
  afterAll(() => {
    for (const s of stores) s.cleanup();
    work.cleanup();
  });

  it('builds on it, runs a container of it, and writes through a symlink at a COPY destination', async () => {
    const store = await seededStore();
    stores.push(store);
    const ctx = path.join(work.dir, 'ctx');
    fs.mkdirSync(ctx);
    fs.writeFileSync(path.join(ctx, 'f'), 'same\n');
    fs.writeFileSync(
      path.join(ctx, 'Dockerfile'),
      ['FROM busybox', 'RUN echo old > /etc/target && ln -s /etc/target /etc/abs && ln -s target /etc/rel', 'COPY f /etc/abs', 'COPY f /etc/rel', 'COPY f /x', 'COPY f /x', 'RUN cat /etc/target > /seen && ls -l /etc/abs /etc/rel | cut -c1 > /kinds', ''].join('\n'),
    );
    const out = path.join(work.dir, 'out');
    // Pinned times: a COPY over an existing file removes it first (as BuildKit's copy does), so
    // its directory's mtime, which the layer holds, is the second the step ran in.
    const env = { SOURCE_DATE_EPOCH: '1700000000' };
    let r = await tbuild(['build', '--root', store.root, '--progress=plain', '-t', 'twice', '-o', `type=local,dest=${out}`, ctx], { env });
    expect(r.code, r.stderr).toBe(0);
    // The COPYs wrote through the links (as BuildKit does), the same bytes both times.
    expect(fs.readFileSync(path.join(out, 'seen'), 'utf8')).toBe('same\n');
    expect(fs.readFileSync(path.join(out, 'kinds'), 'utf8')).toBe('l\nl\n');
    r = await tbuild(['build', '--root', store.root, '-q', '-t', 'twice', ctx], { env });
    expect(r.code, r.stderr).toBe(0);
    r = await tbuild(['inspect', '--root', store.root, 'twice']);
    expect(r.code, r.stderr).toBe(0);
    const diffIds = (JSON.parse(r.stdout) as Array<{ RootFS: { Layers: string[] } }>)[0]!.RootFS.Layers;
    expect(diffIds[2]).toBe(diffIds[3]);
    expect(diffIds[4]).toBe(diffIds[5]);

    r = await tbuild(['run', '--root', store.root, '--rm', 'twice', 'cat', '/etc/rel', '/seen']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('same\nsame\n');
    // --rm: gone when the command returns, as with docker.
    r = await tbuild(['ps', '--root', store.root, '-a', '-q']);
    expect(r.stdout).toBe('');
  });
});
