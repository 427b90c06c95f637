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

/** Regular files of the store's snapshots with more than one link. */
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

/** The layer blobs of the store's last COPY-from-context results (their donor notes), sorted. */
function copyBlobs(root: string): string[] {
  const meta = path.join(root, 'meta');
  return fs
    .readdirSync(meta)
    .filter((n) => n.startsWith('copy-donor-'))
    .map((n) => (JSON.parse(fs.readFileSync(path.join(meta, n), 'utf8')) as { blob: string }).blob)
    .sort();
}

/** Inode numbers of `rel` in every snapshot of the store that has it. */
function inodesOf(root: string, rel: string): number[] {
  const snaps = path.join(root, 's');
  return fs
    .readdirSync(snaps)
    .map((slot) => fs.lstatSync(path.join(snaps, slot, 'fs', rel), { throwIfNoEntry: false })?.ino)
    .filter((ino): ino is number => ino !== undefined);
}

describe.skipIf(!isRoot)(`COPY after an edit takes unchanged files from its previous result (${NEEDS_ROOT})`, () => {
  const work = tempDir('tbuild-donor-');
  const ctx = path.join(work.dir, 'ctx');
  let stores: Array<{ root: string; cleanup: () => void }> = [];

  beforeAll(() => {
    for (let d = 0; d < 5; d++) {
      fs.mkdirSync(path.join(ctx, `data/d${d}`), { recursive: true });
      for (let f = 0; f < 40; f++) fs.writeFileSync(path.join(ctx, `data/d${d}/f${f}.txt`), `file ${d}/${f}\n`, { mode: f % 3 ? 0o644 : 0o755 });
    }
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM busybox\nCOPY --chmod=640 data /data\nCOPY data /plain\nRUN cat /data/d1/f1.txt /plain/d1/f1.txt > /seen && stat -c \'%h %s %a %n\' /data/d0/* /plain/d3/* > /links\n');
  });
  afterAll(() => {
    for (const s of stores) s.cleanup();
    work.cleanup();
  });

  const build = async (root: string): Promise<string> => {
    const out = fs.mkdtempSync(path.join(work.dir, 'out-'));
    // SOURCE_DATE_EPOCH: the destination directories COPY makes get the build's time otherwise.
    const r = await tbuild(['build', '--root', root, '--progress=plain', '-o', `type=local,dest=${out}`, ctx], { env: { SOURCE_DATE_EPOCH: '1700000000' } });
    expect(r.code, r.stderr).toBe(0);
    return out;
  };

  it('gives exactly the files and link counts a full copy gives, moving the unchanged ones', async () => {
    const reused = await seededStore();
    const fresh = await seededStore();
    stores = [reused, fresh];
    await build(reused.root);
    const [before, d3Before, d4Before] = ['data/d0/f0.txt', 'data/d3', 'data/d4'].map((p) => inodesOf(reused.root, p)[0]);
    expect(before).toBeDefined();

    fs.writeFileSync(path.join(ctx, 'data/d1/f1.txt'), 'edited\n');
    fs.chmodSync(path.join(ctx, 'data/d2/f2.txt'), 0o600);
    fs.rmSync(path.join(ctx, 'data/d3/f39.txt'));
    fs.writeFileSync(path.join(ctx, 'data/d0/new.txt'), 'new\n');
    const viaDonor = await build(reused.root);
    // Both COPYs reran and moved their unchanged files out of their previous results, which
    // are gone from the store (their blobs stay): no file is shared, nothing shows 2 links.
    expect(inodesOf(reused.root, 'data/d0/f0.txt')).toEqual([before]);
    // A directory nothing changed in moved whole; one that lost a file was made afresh.
    expect(inodesOf(reused.root, 'data/d4')).toEqual([d4Before]);
    expect(inodesOf(reused.root, 'data/d3')).not.toContain(d3Before);
    expect(inodesOf(reused.root, 'data/d3/f0.txt')).toHaveLength(1);
    expect(linkedInSnapshots(reused.root)).toBe(0);
    expect(fs.readFileSync(path.join(viaDonor, 'seen'), 'utf8')).toBe('edited\nedited\n');

    const full = await build(fresh.root);
    expect(linkedInSnapshots(fresh.root)).toBe(0);
    // What a RUN sees of the files (link count included) and everything the COPYs wrote is equal.
    const links = fs.readFileSync(path.join(viaDonor, 'links'), 'utf8');
    expect(links.split('\n').filter(Boolean)).toHaveLength(80);
    expect(links).toMatch(/^1 \d+ 640 \/data\/d0\/f0.txt$/m);
    expect(links).toBe(fs.readFileSync(path.join(full, 'links'), 'utf8'));
    // The COPYs' layers are the same blobs: times come from the context or the epoch, and the
    // gzip members the edit left alone were copied from the previous blobs.
    expect(copyBlobs(reused.root)).toEqual(copyBlobs(fresh.root));
    expect(copyBlobs(reused.root)).toHaveLength(2);
    const copied = (m: ReturnType<typeof files>) => new Map([...m].filter(([p]) => p.startsWith('data/') || p.startsWith('plain/')));
    const a = copied(files(viaDonor));
    expect(a.size).toBe(2 * 200);
    expect(a.has('data/d3/f39.txt')).toBe(false);
    expect(a.get('plain/d0/new.txt')?.[4]).toBe('new\n');
    expect(a).toEqual(copied(files(full)));
    expect(a.get('data/d2/f2.txt')![0] & 0o7777).toBe(0o640);
    expect(a.get('plain/d2/f2.txt')![0] & 0o7777).toBe(0o600);
  });

  it("takes files by its note's record of how they were written: a touched file is copied again; a note without records is checked on disk", async () => {
    const own = path.join(work.dir, 'recorded');
    for (let d = 0; d < 3; d++) {
      fs.mkdirSync(path.join(own, `data/d${d}`), { recursive: true });
      for (let f = 0; f < 40; f++) fs.writeFileSync(path.join(own, `data/d${d}/f${f}.txt`), `file ${d}/${f}\n`);
    }
    fs.writeFileSync(path.join(own, 'Dockerfile'), "FROM busybox\nCOPY data /data\nRUN stat -c '%h %s %a %u %Y %n' /data/*/* > /stat\n");
    /** What the RUN saw of the copied files: links, size, mode, owner, mtime. */
    const buildOwn = async (root: string): Promise<string> => {
      const out = fs.mkdtempSync(path.join(work.dir, 'out-'));
      const r = await tbuild(['build', '--root', root, '-q', '-o', `type=local,dest=${out}`, own], { env: { SOURCE_DATE_EPOCH: '1700000000' } });
      expect(r.code, r.stderr).toBe(0);
      return fs.readFileSync(path.join(out, 'stat'), 'utf8');
    };
    const notes = (root: string): string[] => fs.readdirSync(path.join(root, 'meta')).filter((n) => n.startsWith('copy-donor-')).map((n) => path.join(root, 'meta', n));
    const reused = await seededStore();
    stores.push(reused);
    await buildOwn(reused.root);
    const [note] = notes(reused.root);
    const values = Object.values((JSON.parse(fs.readFileSync(note!, 'utf8')) as { files: Record<string, string> }).files);
    expect(values).toHaveLength(120);
    for (const v of values) expect(v).toMatch(/^xxh64:[0-9a-f]{16} \d+:\d+:0:0:644$/);

    // Same bytes, another mtime: the digest alone would take the old file, the record does not.
    fs.utimesSync(path.join(own, 'data/d1/f5.txt'), new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'));
    fs.writeFileSync(path.join(own, 'data/d0/f0.txt'), 'edited\n');
    const [kept] = inodesOf(reused.root, 'data/d2/f7.txt');
    const viaRecords = await buildOwn(reused.root);
    expect(viaRecords).toMatch(/^1 \d+ 644 0 981173106 \/data\/d1\/f5.txt$/m);
    expect(inodesOf(reused.root, 'data/d2/f7.txt')).toEqual([kept]);
    const fresh = await seededStore();
    stores.push(fresh);
    expect(viaRecords).toBe(await buildOwn(fresh.root));
    expect(copyBlobs(reused.root)).toEqual(copyBlobs(fresh.root));

    // A note as an older tbuild wrote it, digests alone: each file is checked on disk, and taken.
    for (const n of notes(reused.root)) {
      const parsed = JSON.parse(fs.readFileSync(n, 'utf8')) as { files: Record<string, string> };
      for (const k of Object.keys(parsed.files)) parsed.files[k] = parsed.files[k]!.split(' ')[0]!;
      fs.writeFileSync(n, JSON.stringify(parsed));
    }
    fs.writeFileSync(path.join(own, 'data/d0/f0.txt'), 'edited again\n');
    const [keptAgain] = inodesOf(reused.root, 'data/d2/f7.txt');
    const viaDisk = await buildOwn(reused.root);
    expect(inodesOf(reused.root, 'data/d2/f7.txt')).toEqual([keptAgain]);
    expect(viaDisk).toBe(await buildOwn(fresh.root));
    expect(copyBlobs(reused.root)).toEqual(copyBlobs(fresh.root));
  });

  it('copies everything when a container runs on the previous result', async () => {
    const store = await seededStore();
    stores.push(store);
    fs.writeFileSync(path.join(ctx, 'data/d3/f3.txt'), 'one\n');
    let r = await tbuild(['build', '--root', store.root, '-q', '-t', 'donor:old', ctx]);
    expect(r.code, r.stderr).toBe(0);
    r = await tbuild(['run', '--root', store.root, '-d', '--name', 'keeps-old', 'donor:old', 'sleep', '60']);
    expect(r.code, r.stderr).toBe(0);
    const [before] = inodesOf(store.root, 'data/d0/f0.txt');
    fs.writeFileSync(path.join(ctx, 'data/d3/f3.txt'), 'two\n');
    await build(store.root);
    // The container's image keeps its snapshot whole; the new COPY got copies of its own.
    expect(inodesOf(store.root, 'data/d0/f0.txt')).toContain(before);
    expect(inodesOf(store.root, 'data/d0/f0.txt')).toHaveLength(2);
    expect(linkedInSnapshots(store.root)).toBe(0);
    // And the running container still reads every file of it.
    r = await tbuild(['exec', '--root', store.root, 'keeps-old', 'sh', '-c', 'cat /data/d3/f3.txt && ls /data/d4 | wc -l']);
    expect(r.stdout.replace(/ +/g, '')).toBe('one\n40\n');
    r = await tbuild(['rm', '--root', store.root, '-f', 'keeps-old']);
    expect(r.code, r.stderr).toBe(0);
  });

  it('COPY --from a stage keeps times to the nanosecond and shows one link, as a copy does; --chown too', async () => {
    const store = await seededStore();
    stores.push(store);
    const df = [
      'FROM busybox AS gen',
      'RUN mkdir -p /out/sub && for i in 1 2 3 4 5; do echo "n$i" > /out/sub/f$i; done && chmod 750 /out/sub/f2 && ln -s f1 /out/sub/link && stat -c %y /out/sub/f2 > /out/when',
      'RUN rm /out/sub/f5',
      'FROM busybox',
      'COPY --from=gen /out /kept',
      'COPY --from=gen --chown=7:8 /out /owned',
      'RUN stat -c "%n %a %u %h" /kept/sub/f2 /owned/sub/f2 > /seen && stat -c %y /kept/sub/f2 > /kept-when',
      '',
    ].join('\n');
    fs.writeFileSync(path.join(ctx, 'Dockerfile.from'), df);
    const out = fs.mkdtempSync(path.join(work.dir, 'out-'));
    const r = await tbuild(['build', '--root', store.root, '--progress=plain', '-f', path.join(ctx, 'Dockerfile.from'), '-o', `type=local,dest=${out}`, ctx]);
    expect(r.code, r.stderr).toBe(0);
    expect(linkedInSnapshots(store.root)).toBe(0);
    // busybox prints nanoseconds; a time set through a double would be off in the last digits.
    const when = fs.readFileSync(path.join(out, 'kept/when'), 'utf8');
    expect(when).toMatch(/\.\d{9} /);
    expect(fs.readFileSync(path.join(out, 'kept-when'), 'utf8')).toBe(when);
    const kept = files(path.join(out, 'kept'));
    const owned = files(path.join(out, 'owned'));
    expect([...kept.keys()].sort()).toEqual(['sub/f1', 'sub/f2', 'sub/f3', 'sub/f4', 'sub/link', 'when']);
    expect(fs.readlinkSync(path.join(out, 'kept/sub/link'))).toBe('f1');
    kept.delete('sub/link');
    for (const [p, [mode, , , mtime, content]] of kept) {
      expect(owned.get(p)![4]).toBe(content);
      expect(owned.get(p)![0]).toBe(mode);
      expect(owned.get(p)!.slice(1, 3)).toEqual([7, 8]);
      expect(owned.get(p)![3]).toBe(mtime);
    }
    expect(kept.get('sub/f2')![0] & 0o7777).toBe(0o750);
    expect(fs.readFileSync(path.join(out, 'seen'), 'utf8')).toBe('/kept/sub/f2 750 0 1\n/owned/sub/f2 750 7 1\n');
  });

  it('a layer of several gzip members: unchanged members come from the previous blob, the blob a fresh build makes', async () => {
    const big = path.join(work.dir, 'big');
    // ~3.6 MB of distinct text: several members, most of them holding only unchanged files.
    for (let d = 0; d < 3; d++) {
      fs.mkdirSync(path.join(big, `src/d${d}`), { recursive: true });
      for (let f = 0; f < 300; f++) fs.writeFileSync(path.join(big, `src/d${d}/f${f}.txt`), `${d}/${f} `.repeat(500).slice(0, 4000));
    }
    fs.writeFileSync(path.join(big, 'Dockerfile'), 'FROM busybox\nCOPY src /src\n');
    const reused = await seededStore();
    const fresh = await seededStore();
    stores.push(reused, fresh);
    const run = async (root: string): Promise<string> => {
      const out = fs.mkdtempSync(path.join(work.dir, 'out-'));
      const r = await tbuild(['build', '--root', root, '-q', '-o', `type=local,dest=${out}`, big], { env: { SOURCE_DATE_EPOCH: '1700000000' } });
      expect(r.code, r.stderr).toBe(0);
      return out;
    };
    await run(reused.root);
    const first = JSON.parse(fs.readFileSync(path.join(reused.root, 'meta', fs.readdirSync(path.join(reused.root, 'meta')).find((n) => n.startsWith('copy-donor-'))!), 'utf8')) as { members: { members: unknown[] } };
    expect(first.members.members.length).toBeGreaterThan(3);
    fs.writeFileSync(path.join(big, 'src/d1/f150.txt'), 'edited\n');
    const viaDonor = await run(reused.root);
    const full = await run(fresh.root);
    expect(copyBlobs(reused.root)).toEqual(copyBlobs(fresh.root));
    expect(files(path.join(viaDonor, 'src'))).toEqual(files(path.join(full, 'src')));
    expect(fs.readFileSync(path.join(viaDonor, 'src/d1/f150.txt'), 'utf8')).toBe('edited\n');
  });
});
