import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isRoot, tempDirMaker } from '../../../../test/support/root.ts';
import { CopyPool, copySmall, cutMtimeMs, setMeta, type SmallCopy } from './copy-pool.ts';

const MAX = 64 * 1024;
const temp = tempDirMaker('tb-pool-');

/** What a copy is judged by: bytes, permission bits, owner and times to the nanosecond. */
function shape(p: string) {
  const st = fs.statSync(p, { bigint: true });
  return { data: fs.readFileSync(p, 'hex'), mode: st.mode & 0o7777n, uid: st.uid, gid: st.gid, mtimeNs: st.mtimeNs, atimeNs: st.atimeNs };
}

describe('copy pool', () => {
  it('copies in its threads exactly what the calling thread copies', async () => {
    const src = temp();
    const [a, b] = [temp(), temp()];
    const jobs: Array<(dest: string) => SmallCopy> = [];
    for (let i = 0; i < 40; i++) {
      const p = path.join(src, `f${i}`);
      fs.writeFileSync(p, Buffer.alloc(i * 1500, i));
      fs.chmodSync(p, i % 3 ? 0o640 : 0o4755);
      // Sub-millisecond times: the copy keeps the millisecond, and reports the nanoseconds.
      // atime after mtime and ctime: a read (relatime) leaves it as it is.
      fs.utimesSync(p, Math.floor(Date.now() / 1000) + 100.123456 + i, 1_600_000_000.987654 + i);
      if (isRoot && i % 4 === 0) fs.chownSync(p, 1234, 5678);
      jobs.push((dest) => ({ src: p, dest: path.join(dest, `f${i}`), mode: i % 5 ? 0o644 : 0o4755, uid: i % 2 ? -1 : 0, gid: i % 2 ? -1 : 0, ns: i % 2 === 0 }));
    }
    const here = jobs.map((j) => copySmall(fs, j(a), MAX, setMeta, cutMtimeMs));
    const pool = new CopyPool(2, MAX);
    const there = await Promise.all(jobs.map((j) => pool.copy(j(b))));
    expect(there).toEqual(here);
    for (let i = 0; i < 40; i++) expect(shape(path.join(b, `f${i}`))).toEqual(shape(path.join(a, `f${i}`)));
    expect(here[0]!.mtimeNs).toBe(fs.statSync(path.join(src, 'f0'), { bigint: true }).mtimeNs);
    expect(here[1]!.mtimeNs).toBeUndefined();
  });

  it('leaves a large or no longer regular source to the caller, without blocking on a FIFO', async () => {
    const src = temp();
    const dest = temp();
    fs.writeFileSync(path.join(src, 'big'), Buffer.alloc(MAX + 1));
    execFileSync('mkfifo', [path.join(src, 'fifo')]);
    const pool = new CopyPool(1, MAX);
    for (const name of ['big', 'fifo']) {
      const job = { src: path.join(src, name), dest: path.join(dest, name), mode: 0o644, uid: -1, gid: -1, ns: false };
      expect(copySmall(fs, job, MAX, setMeta, cutMtimeMs)).toBeUndefined();
      expect(await pool.copy(job)).toBeUndefined();
    }
    expect(fs.readdirSync(dest)).toEqual([]);
  });

  it('fails as the calling thread would', async () => {
    const dest = temp();
    const job = { src: path.join(dest, 'missing'), dest: path.join(dest, 'out'), mode: 0o644, uid: -1, gid: -1, ns: false };
    let here: unknown;
    try {
      copySmall(fs, job, MAX, setMeta, cutMtimeMs);
    } catch (e) {
      here = e;
    }
    await expect(new CopyPool(1, MAX).copy(job)).rejects.toMatchObject({ code: 'ENOENT', syscall: (here as NodeJS.ErrnoException).syscall, path: job.src });
  });
});
