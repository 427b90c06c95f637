import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tbuild } from '../support/cli.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';
import { mountsUnder, seededStore } from '../support/seed.ts';

// Four Dockerfiles sharing prefixes (same first RUN, same COPY), each built by two processes at
// once: eight writers race for the same steps, blobs, snapshots and refs of one store.
const DOCKERFILES: Record<string, string> = {
  a: 'FROM busybox\nRUN echo common > /common && sleep 0.2\nRUN echo a > /a\n',
  b: 'FROM busybox\nRUN echo common > /common && sleep 0.2\nRUN echo b > /b\n',
  c: 'FROM busybox\nRUN echo common > /common && sleep 0.2\nCOPY shared.txt /shared.txt\nRUN cat /shared.txt /common > /c\n',
  d: 'FROM busybox\nCOPY shared.txt /shared.txt\nWORKDIR /work\nRUN echo d > d\n',
};

describe.skipIf(!isRoot)(`eight concurrent builds on one store (${NEEDS_ROOT})`, () => {
  const work = tempDir('tbuild-conc-');
  const stores: Array<{ root: string; cleanup: () => void }> = [];
  const env = { SOURCE_DATE_EPOCH: '0' };

  beforeAll(() => {
    fs.mkdirSync(path.join(work.dir, 'ctx'));
    fs.writeFileSync(path.join(work.dir, 'ctx/shared.txt'), 'shared\n');
    for (const [name, text] of Object.entries(DOCKERFILES)) fs.writeFileSync(path.join(work.dir, `${name}.Dockerfile`), text);
  });

  afterAll(() => {
    for (const s of stores) s.cleanup();
    work.cleanup();
  });

  const buildIn = (root: string, name: string, tag: string) =>
    tbuild(['build', '--root', root, '-q', '-f', `${name}.Dockerfile`, '-t', tag, 'ctx'], { cwd: work.dir, env });

  it('all succeed, produce the images sequential builds produce, and leave a store that verifies', async () => {
    const shared = await seededStore();
    const reference = await seededStore();
    stores.push(shared, reference);

    const names = Object.keys(DOCKERFILES);
    const runs = await Promise.all(names.flatMap((n) => [buildIn(shared.root, n, `${n}:1`), buildIn(shared.root, n, `${n}:2`)]));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);

    const expected: Record<string, string> = {};
    for (const n of names) {
      const r = await buildIn(reference.root, n, `${n}:1`);
      expect(r.code, r.stderr).toBe(0);
      expected[n] = r.stdout.trim();
    }
    expect(runs.map((r) => r.stdout.trim())).toEqual(names.flatMap((n) => [expected[n], expected[n]]));

    const keys = async (root: string): Promise<string[]> =>
      (JSON.parse((await tbuild(['cache', 'ls', '--root', root, '--format', 'json'])).stdout) as Array<{ key: string }>).map((e) => e.key).sort();
    expect(await keys(shared.root)).toEqual(await keys(reference.root));

    const v = await tbuild(['cache', 'verify', '--root', shared.root]);
    expect(v.stdout.trim(), v.stderr).toBe('cache verify: no problems found');
    expect(v.code).toBe(0);
    expect(await mountsUnder(shared.root)).toEqual([]);
    expect(fs.readdirSync(path.join(shared.root, 'tmp'))).toEqual([]);
  });

  it('prune --all running alongside builds never removes what they use', async () => {
    const s = await seededStore();
    stores.push(s);
    const names = Object.keys(DOCKERFILES);
    let building = true;
    const builds = Promise.all(names.map((n) => buildIn(s.root, n, `${n}:1`))).finally(() => (building = false));
    const prunes: Array<{ code: number; stderr: string }> = [];
    while (building) prunes.push(await tbuild(['cache', 'prune', '--all', '--root', s.root]));
    for (const r of await builds) expect(r.code, r.stderr).toBe(0);
    for (const p of prunes) expect(p.code, p.stderr).toBe(0);
    expect(prunes.length).toBeGreaterThan(0);
    // Every image the builds tagged is complete, and the store is sound.
    const v = await tbuild(['cache', 'verify', '--root', s.root]);
    expect(v.stdout.trim(), v.stderr).toBe('cache verify: no problems found');
    for (const n of names) {
      const save = await tbuild(['save', '--root', s.root, '-o', path.join(work.dir, `${n}.tar`), `${n}:1`]);
      expect(save.code, save.stderr).toBe(0);
    }
  });
});
