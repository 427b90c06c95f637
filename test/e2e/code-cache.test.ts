import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../support/cli.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';

// bin/tbuild.js keeps V8's code cache beside the bundle. A copy of bin/ and the bundle, so this
// file's cache is its own and not the one every other test's runs share.
describe.skipIf(!isRoot)(`the CLI's code cache (${NEEDS_ROOT})`, () => {
  const t = tempDir('tbuild-code-cache-');
  const pkg = path.join(t.dir, 'tbuild');
  const cache = path.join(pkg, 'dist/tbuild.cjs.v8cache');
  const run = (args: string[]) => {
    const r = spawnSync(process.execPath, [path.join(pkg, 'bin/tbuild.js'), ...args], { encoding: 'utf8', env: { ...process.env, TBUILD_NO_SERVER: '1' } });
    expect(r.status, r.stderr).toBe(0);
  };
  const state = () => {
    const st = fs.statSync(cache);
    return { tag: String.fromCharCode(fs.readFileSync(cache)[0]!), ino: st.ino, mtimeMs: st.mtimeMs };
  };

  beforeAll(() => {
    const src = path.join(REPO, 'packages/tbuild');
    fs.cpSync(path.join(src, 'bin'), path.join(pkg, 'bin'), { recursive: true });
    fs.mkdirSync(path.join(pkg, 'dist'));
    fs.copyFileSync(path.join(src, 'dist/tbuild.cjs'), path.join(pkg, 'dist/tbuild.cjs'));
    fs.symlinkSync(path.join(src, 'node_modules'), path.join(pkg, 'node_modules'));
    fs.writeFileSync(path.join(t.dir, 'Dockerfile'), 'FROM scratch\nCOPY Dockerfile /d\n');
  });
  afterAll(() => t.cleanup());

  it('is written by the first run, and again by the first build after other commands', () => {
    run(['version']);
    const first = state();
    expect(first.tag).toBe('o');
    run(['version']);
    expect(state()).toEqual(first);

    run(['build', '--root', path.join(t.dir, 'store'), '-q', t.dir]);
    const byBuild = state();
    expect(byBuild.tag).toBe('b');
    expect(byBuild.ino).not.toBe(first.ino);

    // Kept from then on: other commands use what a build compiled, and so do later builds.
    run(['version']);
    run(['build', '--root', path.join(t.dir, 'store'), '-q', t.dir]);
    expect(state()).toEqual(byBuild);
  });

  it("is taken as a build's first step starts: it holds what a warm build runs, not the steps' code", () => {
    const store = path.join(t.dir, 'store-steps');
    fs.rmSync(cache, { force: true });
    run(['build', '--root', store, '-q', t.dir]);
    const withSteps = fs.statSync(cache).size;
    fs.rmSync(cache);
    run(['build', '--root', store, '-q', t.dir]);
    const warm = fs.statSync(cache).size;
    // Taken at the end, the first also held the COPY's copy, diff, tar and gzip: 17% more than
    // the warm build's (3.5% more when taken at the step).
    expect(withSteps).toBeLessThan(warm * 1.1);
  });

  it('is written again when its first byte is neither tag, or when V8 rejects the rest', () => {
    for (const bad of ['garbage', 'bgarbage']) {
      fs.writeFileSync(cache, Buffer.from(bad));
      run(['build', '--help']);
      expect(state().tag).toBe('o');
      expect(fs.statSync(cache).size).toBeGreaterThan(1000);
    }
  });
});
