import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Store } from '@tbuild/cache';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tbuild } from '../support/cli.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';
import { mountsUnder } from '../support/seed.ts';
import { busyboxImage } from '../support/services.ts';

// An 8 MiB tmpfs holds the busybox base (~1 MiB blob, ~2 MiB unpacked) and a few MiB more: a
// 4 MB RUN output fits in the upper dir but its layer blob then does not.
describe.skipIf(!isRoot)(`a store on a full filesystem (${NEEDS_ROOT}, tmpfs)`, () => {
  const work = tempDir('tbuild-full-');
  const mnt = path.join(work.dir, 'mnt');
  const root = path.join(mnt, 'store');
  const ctx = path.join(work.dir, 'ctx');
  const blobs = (): string[] => fs.readdirSync(path.join(root, 'blobs/sha256')).sort();

  beforeAll(async () => {
    fs.mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0700', 'tmpfs', mnt]);
    await busyboxImage(await Store.open(root));
    fs.mkdirSync(ctx);
  });

  afterAll(() => {
    try {
      execFileSync('umount', [mnt]);
    } finally {
      work.cleanup();
    }
  });

  const build = (dockerfile: string) => {
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), dockerfile);
    return tbuild(['build', '--root', root, '--progress=plain', 'ctx'], { cwd: work.dir });
  };

  const expectSound = async (blobsBefore: string[]): Promise<void> => {
    expect(blobs()).toEqual(blobsBefore);
    expect(fs.readdirSync(path.join(root, 'tmp'))).toEqual([]);
    expect(await mountsUnder(root)).toEqual([]);
    const v = await tbuild(['cache', 'verify', '--root', root]);
    expect(v.stdout.trim(), v.stderr).toBe('cache verify: no problems found');
  };

  it('fails a layer write with one line naming the store, and leaves nothing half-written', async () => {
    const small = await build('FROM busybox\nRUN echo small > /small\n');
    expect(small.code, small.stderr).toBe(0);
    const before = blobs();
    const r = await build('FROM busybox\nRUN echo small > /small\nRUN head -c 4000000 /dev/urandom > /big\n');
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines.at(-1)).toBe(`error TB_CACHE_NO_SPACE: no space left on ${root}`);
    expect(r.stderr).not.toContain('internal error');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    await expectSound(before);
  });

  it('fails a COPY that does not fit the same way', async () => {
    const before = blobs();
    fs.writeFileSync(path.join(ctx, 'big.bin'), Buffer.alloc(7_000_000, 7));
    try {
      const r = await build('FROM busybox\nCOPY big.bin /big.bin\n');
      expect(r.code).toBe(1);
      expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(`error TB_EXEC_NO_SPACE: no space left on ${root}`);
      await expectSound(before);
    } finally {
      fs.rmSync(path.join(ctx, 'big.bin'));
    }
  });
});
