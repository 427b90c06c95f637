import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, tbuild } from '../support/cli.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';

// `pnpm build` compiles @tbuild/context's native/scan.c beside the bundle where gcc is (CI installs it).
const SCANNER = path.join(REPO, 'packages/tbuild/dist/tbuild-scan');

describe.skipIf(!isRoot)(`a large context read through tbuild-scan (${NEEDS_ROOT})`, () => {
  const work = tempDir('tbuild-scan-e2e-');
  const ctx = path.join(work.dir, 'ctx');
  const root = path.join(work.dir, 'store');

  beforeAll(() => {
    // ~2,000 files: a stat cache past the size at which a build starts the scanner.
    for (let d = 0; d < 20; d++) {
      fs.mkdirSync(path.join(ctx, 'data', `d${d}`), { recursive: true });
      for (let f = 0; f < 100; f++) fs.writeFileSync(path.join(ctx, 'data', `d${d}`, `f${f}.txt`), `${d}/${f}\n`);
    }
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY data /data\n');
  });
  afterAll(() => work.cleanup());

  const build = async (env: NodeJS.ProcessEnv = {}): Promise<string> => {
    const r = await tbuild(['build', '--root', root, '-q', ctx], { env: { TBUILD_NO_SERVER: '1', ...env } });
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim();
  };
  const treeRecorded = (): boolean =>
    fs
      .readdirSync(path.join(root, 'meta'))
      .filter((f) => f.startsWith('statcache-'))
      .some((f) => fs.readFileSync(path.join(root, 'meta', f)).includes('tree\0'));

  it('builds what a build reading the context through Node.js builds, before and after an edit', async () => {
    expect(fs.existsSync(SCANNER), 'pnpm build compiled tbuild-scan').toBe(true);
    const first = await build();
    expect(treeRecorded()).toBe(false);
    // The second build scans (the first left a large stat cache) and records the whole tree.
    await new Promise((r) => setTimeout(r, 150));
    expect(await build()).toBe(first);
    expect(treeRecorded()).toBe(true);
    expect(await build()).toBe(first);

    fs.writeFileSync(path.join(ctx, 'data/d7/f42.txt'), 'edited\n');
    const edited = await build();
    expect(edited).not.toBe(first);
    expect(await build({ TBUILD_NO_CONTEXT_SCAN: '1' })).toBe(edited);
    await new Promise((r) => setTimeout(r, 150));
    expect(await build()).toBe(edited);
    expect(await build()).toBe(edited);
  });
});
