import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pidAlive, runcPidsUnder } from '@tbuild/executor';
import { cachePrune, cacheVerify, openStore, removeImage } from 'tbuild';
import { tbuild, TBUILD_BIN, type CliRun } from '../support/cli.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';
import { mountsUnder, seededStore } from '../support/seed.ts';
import { haveRegistry, startRegistry, type TestRegistry } from '../support/services.ts';

const KILLS = 30;

// Deterministic "random" moments, so a failure can be replayed (the seed is in the test name).
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const SEED = 20261125;

interface Record {
  key: string;
  hits: number;
}

/** Step records as the store reports them (journaled hits included). */
async function records(root: string): Promise<Map<string, Record>> {
  const steps = await (await openStore(root)).listSteps();
  return new Map(steps.map((r) => [r.key, r as Record]));
}

/** Starts a build and SIGKILLs it after `delayMs` unless it finished first. */
function buildKilledAfter(args: string[], cwd: string, delayMs: number): Promise<{ killed: boolean; run: CliRun }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TBUILD_BIN, ...args], { cwd, env: { ...process.env, CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      killed = child.kill('SIGKILL');
    }, delayMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ killed: killed && signal === 'SIGKILL', run: { code: code ?? 137, stdout, stderr } });
    });
  });
}

/** `tbuild-<pid>-<n>` namespaces and address leases whose process no longer exists. */
function deadNetworks(): string[] {
  const gone = (pid: number): boolean => !pidAlive(pid);
  const list = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);
  const netns = list('/run/netns').filter((n) => /^tbuild-\d+-\d+$/.test(n) && gone(Number(n.split('-')[1])));
  const leases = list('/run/tbuild-net/leases').filter((f) => gone(Number(fs.readFileSync(path.join('/run/tbuild-net/leases', f), 'utf8'))));
  return [...netns, ...leases];
}

describe.skipIf(!isRoot || !haveRegistry())(`SIGKILL at random moments, seed ${SEED} (${NEEDS_ROOT}, docker-registry)`, () => {
  let registry: TestRegistry;
  let cleanupSeed: () => void;
  const work = tempDir('tbuild-kill-');
  const root = path.join(work.dir, 'store');
  const ctx = path.join(work.dir, 'ctx');
  let base: string;

  beforeAll(async () => {
    registry = await startRegistry();
    const seeded = await seededStore();
    cleanupSeed = seeded.cleanup;
    base = `${registry.host}/base/busybox:1`;
    for (const args of [['tag', 'busybox:latest', base], ['push', base]]) {
      const r = await tbuild([args[0]!, '--root', seeded.root, ...args.slice(1)]);
      expect(r.code, r.stderr).toBe(0);
    }
    fs.mkdirSync(ctx);
  });

  afterAll(async () => {
    await registry?.stop();
    cleanupSeed?.();
    work.cleanup();
  });

  const dockerfile = (i: number): string =>
    [
      `FROM ${base}`,
      'RUN echo base > /base',
      `RUN head -c 400000 /dev/urandom > /rand && echo ${i} > /iteration`,
      `COPY ${i}.txt /i.txt`,
      'RUN cat /i.txt > /copy && sleep 0.1',
      '',
    ].join('\n');
  // Pull, RUN, layer write and export (an OCI archive) all happen in every build.
  const buildArgs = (i: number): string[] => ['build', '--root', root, '--progress=plain', '-f', `${i}.Dockerfile`, '-o', `type=oci,dest=${path.join(work.dir, 'out.tar')}`, 'ctx'];

  it(`survives ${KILLS} kills: verify is clean, nothing stays mounted, the next build succeeds and reuses finished steps`, async () => {
    const rand = mulberry32(SEED);
    // How long a build takes here with a pull and without: kills land anywhere inside one.
    const scratch = tempDir('tbuild-kill-warm-');
    const windows: number[] = [];
    for (const n of [-1, -2]) {
      fs.writeFileSync(path.join(ctx, `${n}.txt`), 'warm\n');
      fs.writeFileSync(path.join(work.dir, `${n}.Dockerfile`), dockerfile(n));
      const t0 = Date.now();
      const warm = await tbuild(['build', '--root', scratch.dir, '--progress=plain', '-f', `${n}.Dockerfile`, 'ctx'], { cwd: work.dir });
      windows.push(Date.now() - t0);
      expect(warm.code, warm.stderr).toBe(0);
    }
    scratch.cleanup();
    const [pullWindow, window] = windows as [number, number];

    let kills = 0;
    for (let i = 0; kills < KILLS; i++) {
      expect(i, 'builds keep finishing before the kill').toBeLessThan(KILLS * 2);
      if (i % 6 === 0) {
        // Drop the base image so this build pulls it again (a kill may land in the pull).
        await removeImage(await openStore(root), base).catch(() => undefined);
        await cachePrune({ root });
      }
      fs.writeFileSync(path.join(ctx, `${i}.txt`), `iteration ${i}\n`);
      fs.writeFileSync(path.join(work.dir, `${i}.Dockerfile`), dockerfile(i));
      const before = new Set((await records(root)).keys());
      const { killed, run } = await buildKilledAfter(buildArgs(i), work.dir, Math.floor(rand() * (i % 6 === 0 ? pullWindow : window)));
      if (!killed) expect(run.code, run.stderr).toBe(0);
      else kills++;

      const verify = await cacheVerify({ root });
      expect(verify.problems, `after kill ${kills} (iteration ${i})`).toEqual([]);
      expect(await mountsUnder(root)).toEqual([]);
      // No runc or container process of the killed build is left running (or waiting to start).
      expect(runcPidsUnder(root), `after kill ${kills}`).toEqual([]);
      // Nor a bridge namespace or address lease of a process that is gone (RUN's default network).
      expect(deadNetworks(), `after kill ${kills}`).toEqual([]);
      const left = fs.readdirSync(path.join(root, 'run'));
      // What is left, named in the failure: which process wrote it tells why it stayed.
      expect(left, left.length ? String(fs.readdirSync(path.join(root, 'run'), { recursive: true })) : '').toEqual([]);

      if (killed && kills % 5 === 0) {
        const finished = [...(await records(root)).keys()].filter((k) => !before.has(k));
        const next = await tbuild(buildArgs(i), { cwd: work.dir });
        expect(next.code, next.stderr).toBe(0);
        const after = await records(root);
        for (const k of finished) expect(after.get(k)?.hits, `step ${k} finished before the kill, so the next build reuses it`).toBeGreaterThan(0);
      }
    }
    const last = await tbuild(buildArgs(0), { cwd: work.dir });
    expect(last.code, last.stderr).toBe(0);
    expect(await mountsUnder(root)).toEqual([]);
  }, 400_000);
});
