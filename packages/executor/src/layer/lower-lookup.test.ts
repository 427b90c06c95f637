import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setAttributeSync } from '@napi-rs/xattr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, NEEDS_ROOT, tempDir } from '../../../../test/support/root.ts';
import { LowerView } from './lower-lookup.ts';

// Whiteouts are 0/0 character devices and opaque dirs carry a trusted xattr: both need root.
describe.skipIf(!isRoot)(`LowerView (${NEEDS_ROOT})`, () => {
  let tmp: { dir: string; cleanup: () => void };
  beforeAll(() => (tmp = tempDir('tbuild-lowers-')));
  afterAll(() => tmp?.cleanup());

  // A small deterministic generator, so a failure names a seed that reproduces it.
  function rng(seed: number): () => number {
    let s = seed >>> 0;
    return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  }

  const NAMES = ['a', 'b', 'c'];
  const ALL_PATHS = NAMES.flatMap((x) => [x, ...NAMES.flatMap((y) => [`${x}/${y}`, ...NAMES.map((z) => `${x}/${y}/${z}`)])]);

  /** Lowers (top-most first) with random dirs, files, whiteouts and opaque dirs. */
  function randomStack(seed: number): string[] {
    const rand = rng(seed);
    return [0, 1, 2].map((i) => {
      const lower = path.join(tmp.dir, `s${seed}-${i}`);
      fs.mkdirSync(lower);
      for (const p of ALL_PATHS) {
        const host = path.join(lower, p);
        if (!fs.existsSync(path.dirname(host)) || !fs.statSync(path.dirname(host)).isDirectory() || fs.existsSync(host)) continue;
        const r = rand();
        if (r < 0.35) fs.mkdirSync(host);
        else if (r < 0.45) fs.writeFileSync(host, 'f');
        else if (r < 0.55) execFileSync('mknod', [host, 'c', '0', '0']);
        else if (r < 0.62) {
          fs.mkdirSync(host);
          setAttributeSync(host, 'trusted.overlay.opaque', 'y');
        }
      }
      return lower;
    });
  }

  it('gives every path the same answer after its parents were found in no lower as a fresh view does', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const lowers = randomStack(seed);
      const walked = new LowerView(lowers);
      // The upper walk's order: a directory's sameDir before anything inside it.
      const dirSt = fs.lstatSync(tmp.dir, { bigint: true });
      for (const p of ALL_PATHS) {
        const expected = new LowerView(lowers).lookup(p)?.host;
        expect(walked.lookup(p)?.host, `seed ${seed}, ${p}`).toBe(expected);
        walked.sameDir(p, dirSt, new Map());
      }
    }
  });

  it('answers for a new tree below a directory no lower has without looking in the lowers again', () => {
    const lowers = randomStack(1000);
    const view = new LowerView(lowers);
    const st = fs.lstatSync(tmp.dir, { bigint: true });
    expect(view.sameDir('new', st, new Map())).toBe(false);
    // Were the lowers consulted, a directory created there now would be found.
    for (const lower of lowers) fs.mkdirSync(path.join(lower, 'new', 'sub'), { recursive: true });
    expect(view.lookup('new/sub')).toBeUndefined();
    expect(new LowerView(lowers).lookup('new/sub')?.host).toBe(path.join(lowers[0]!, 'new', 'sub'));
  });
});
