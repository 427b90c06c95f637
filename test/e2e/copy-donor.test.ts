import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tbuild } from '../support/cli.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';
import { seededStore } from '../support/seed.ts';

/** path -> [mode, uid, gid, mtime ms, content] of every regular file below `dir`. */
function files(dir: string): Map<string, [number, number, number, number, string]> {
  const out = new Map<string, [number, number, number, number, string]>();
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else {
        const st = fs.lstatSync(path.join(dir, r));
        out.set(r, [st.mode, st.uid, st.gid, Math.trunc(st.mtimeMs), fs.readFileSync(path.join(dir, r), 'utf8')]);
      }
    }
  };
  walk('');
  return out;
}

/** Regular files of the store's snapshots that share their inode with another snapshot. */
function linkedInSnapshots(root: string): number {
  let n = 0;
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && fs.statSync(p).nlink > 1) n++;
    }
  };
  walk(path.join(root, 's'));
  return n;
}

describe.skipIf(!isRoot)(`COPY after an edit links unchanged files from its previous result (${NEEDS_ROOT})`, () => {
  const work = tempDir('tbuild-donor-');
  const ctx = path.join(work.dir, 'ctx');
  let stores: Array<{ root: string; cleanup: () => void }> = [];

  beforeAll(() => {
    for (let d = 0; d < 4; d++) {
      fs.mkdirSync(path.join(ctx, `data/d${d}`), { recursive: true });
      for (let f = 0; f < 40; f++) fs.writeFileSync(path.join(ctx, `data/d${d}/f${f}.txt`), `file ${d}/${f}\n`, { mode: f % 3 ? 0o644 : 0o755 });
    }
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM busybox\nCOPY --chmod=640 data /data\nCOPY data /plain\nRUN cat /data/d1/f1.txt /plain/d1/f1.txt > /seen\n');
  });
  afterAll(() => {
    for (const s of stores) s.cleanup();
    work.cleanup();
  });

  const build = async (root: string): Promise<string> => {
    const out = fs.mkdtempSync(path.join(work.dir, 'out-'));
    const r = await tbuild(['build', '--root', root, '--progress=plain', '-o', `type=local,dest=${out}`, ctx]);
    expect(r.code, r.stderr).toBe(0);
    return out;
  };

  it('gives exactly the files a full copy gives, sharing the unchanged ones', async () => {
    const reused = await seededStore();
    const fresh = await seededStore();
    stores = [reused, fresh];
    await build(reused.root);
    expect(linkedInSnapshots(reused.root)).toBe(0);

    fs.writeFileSync(path.join(ctx, 'data/d1/f1.txt'), 'edited\n');
    fs.chmodSync(path.join(ctx, 'data/d2/f2.txt'), 0o600);
    const viaDonor = await build(reused.root);
    // Both COPYs reran; of their 2 x 160 files, all but the two changed ones were linked.
    expect(linkedInSnapshots(reused.root)).toBe(2 * 2 * 158);
    expect(fs.readFileSync(path.join(viaDonor, 'seen'), 'utf8')).toBe('edited\nedited\n');

    const full = await build(fresh.root);
    expect(linkedInSnapshots(fresh.root)).toBe(0);
    // Everything the COPYs wrote is equal (the RUN's own file has a new time in every build).
    const copied = (m: ReturnType<typeof files>) => new Map([...m].filter(([p]) => p.startsWith('data/') || p.startsWith('plain/')));
    const a = copied(files(viaDonor));
    expect(a.size).toBe(2 * 160);
    expect(a).toEqual(copied(files(full)));
    expect(a.get('data/d2/f2.txt')![0] & 0o7777).toBe(0o640);
    expect(a.get('plain/d2/f2.txt')![0] & 0o7777).toBe(0o600);

    // `cache du` counts a shared inode once: two builds' snapshots cost little more than one.
    const du = async (root: string) => (JSON.parse((await tbuild(['cache', 'du', '--root', root, '--format', 'json'])).stdout) as { snapshots: { bytes: number } }).snapshots.bytes;
    const copiedBytes = [...a.values()].reduce((n, [, , , , content]) => n + Buffer.byteLength(content), 0);
    expect((await du(reused.root)) - (await du(fresh.root))).toBeLessThan(copiedBytes / 2);
  });

  it('links what COPY --from copies from a stage, keeping times to the nanosecond; --chown copies', async () => {
    const store = await seededStore();
    stores.push(store);
    const df = [
      'FROM busybox AS gen',
      'RUN mkdir -p /out/sub && for i in 1 2 3 4 5; do echo "n$i" > /out/sub/f$i; done && chmod 750 /out/sub/f2 && ln -s f1 /out/sub/link',
      'RUN rm /out/sub/f5',
      'FROM busybox',
      'COPY --from=gen /out /kept',
      'COPY --from=gen --chown=7:8 /out /owned',
      'RUN stat -c "%n %a %u %Y" /kept/sub/f2 /owned/sub/f2 > /seen',
      '',
    ].join('\n');
    fs.writeFileSync(path.join(ctx, 'Dockerfile.from'), df);
    const out = fs.mkdtempSync(path.join(work.dir, 'out-'));
    const r = await tbuild(['build', '--root', store.root, '--progress=plain', '-f', path.join(ctx, 'Dockerfile.from'), '-o', `type=local,dest=${out}`, ctx]);
    expect(r.code, r.stderr).toBe(0);
    // The four files /kept got are linked from gen's snapshots (nlink 2 there and in COPY's own).
    expect(linkedInSnapshots(store.root)).toBe(8);
    const kept = files(path.join(out, 'kept'));
    const owned = files(path.join(out, 'owned'));
    expect([...kept.keys()].sort()).toEqual(['sub/f1', 'sub/f2', 'sub/f3', 'sub/f4', 'sub/link']);
    expect(fs.readlinkSync(path.join(out, 'kept/sub/link'))).toBe('f1');
    kept.delete('sub/link');
    for (const [p, [mode, , , mtime, content]] of kept) {
      expect(owned.get(p)![4]).toBe(content);
      expect(owned.get(p)![0]).toBe(mode);
      expect(owned.get(p)!.slice(1, 3)).toEqual([7, 8]);
      expect(owned.get(p)![3]).toBe(mtime);
    }
    expect(kept.get('sub/f2')![0] & 0o7777).toBe(0o750);
    expect(fs.readFileSync(path.join(out, 'seen'), 'utf8')).toMatch(/^\/kept\/sub\/f2 750 0 \d+\n\/owned\/sub\/f2 750 7 \d+\n$/);
  });
});
