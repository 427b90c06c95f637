import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, tbuild } from '../support/cli.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';
import { seededStore } from '../support/seed.ts';

// `pnpm build` compiles @tbuild/executor's native/sys.c beside the bundle where gcc is (CI installs it).
const SYS = path.join(REPO, 'packages/tbuild/dist/tbuild-sys');

describe.skipIf(!isRoot)(`a build's mounts go through tbuild-sys (${NEEDS_ROOT})`, () => {
  const work = tempDir('tbuild-sys-e2e-');
  const ctx = path.join(work.dir, 'ctx');
  const bin = path.join(work.dir, 'bin');
  const calls = path.join(work.dir, 'calls');
  let store: Awaited<ReturnType<typeof seededStore>> | undefined;

  beforeAll(async () => {
    store = await seededStore();
    fs.mkdirSync(ctx);
    // One mount: the RUN's root.
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM busybox\nRUN echo ran > /ran\n');
    // mount(8) and umount(8) first on PATH, noting each use: what a build does without a helper
    // up, as with python3's while it starts.
    fs.mkdirSync(bin);
    for (const tool of ['mount', 'umount']) {
      fs.writeFileSync(path.join(bin, tool), `#!/bin/sh\necho ${tool} >> ${calls}\nexec /usr/bin/${tool} "$@"\n`, { mode: 0o755 });
    }
  });
  afterAll(() => {
    store?.cleanup();
    work.cleanup();
  });

  it('mounts even the first snapshot of a build without mount(8)', async () => {
    expect(fs.existsSync(SYS), 'pnpm build compiled tbuild-sys').toBe(true);
    const env = { TBUILD_NO_SERVER: '1', PATH: `${bin}:${process.env.PATH}` };
    const run = async (extra: NodeJS.ProcessEnv = {}) => {
      const r = await tbuild(['build', '--root', store!.root, '-q', '--no-cache', '--network', 'none', ctx], { env: { ...env, ...extra } });
      expect(r.code, r.stderr).toBe(0);
    };
    await run();
    expect(fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8') : '').toBe('');
    // The same build with no helper at all execs them: the fake tools are on the path taken.
    await run({ TBUILD_NO_SYS_HELPER: '1' });
    expect(fs.readFileSync(calls, 'utf8')).toMatch(/mount\n[^]*umount\n/);
  });
});
