import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Digest, Store } from './index.ts';

let work: string;
let worker: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tbuild-conc-'));
  worker = path.join(work, 'worker.cjs');
  await build({
    entryPoints: [path.join(import.meta.dirname, 'testing/store-worker.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    conditions: ['tbuild-source'],
    outfile: worker,
    logLevel: 'silent',
  });
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  fs.rmSync(work, { recursive: true, force: true });
});

/** Starts a worker; `lines` yields its JSON stdout lines, `exit` its exit code. */
function run(root: string, ...args: string[]): { child: ChildProcess; next: () => Promise<unknown>; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [worker, root, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const it = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exit, next: async () => JSON.parse(((await it.next()).value as string) ?? 'null') as unknown };
}

function freshRoot(): string {
  return fs.mkdtempSync(path.join(work, 'root-'));
}

describe('several processes on one store', () => {
  it('write the same and different blobs, steps and snapshots without corruption', async () => {
    // No open() first: the workers also race to create the layout.
    const root = path.join(freshRoot(), 's');
    const procs = ['a', 'b', 'c', 'd'].map((me) => run(root, 'write', '8', me));
    expect(await Promise.all(procs.map((p) => p.exit))).toEqual([0, 0, 0, 0]);
    const store = await Store.open(root);
    expect(await store.verify()).toEqual([]);
    const steps = await store.listSteps();
    expect(steps).toHaveLength(8 + 32);
    for (const s of steps) expect(await store.getStep(s.key)).toBeDefined();
    for (let i = 0; i < 8; i++) {
      expect(await store.hasSnapshot(sha256Digest(`snap-${i}`))).toBe(true);
      expect(fs.readdirSync(store.snapshotPath(sha256Digest(`snap-${i}`)))).toEqual(['by']);
    }
    // Reading the records verified their blobs, which this process notes in the background.
    await store.settled();
    expect(fs.readdirSync(store.dirs.tmp)).toEqual([]);
  });

  it('leaves no visible blob when a writer is SIGKILLed; open() removes its temp file', async () => {
    const root = path.join(freshRoot(), 's');
    const store = await Store.open(root);
    const p = run(root, 'hang-write');
    expect(await p.next()).toEqual({ started: true });
    p.child.kill('SIGKILL');
    await p.exit;
    expect(fs.readdirSync(store.dirs.tmp)).toHaveLength(1);
    expect(fs.readdirSync(store.dirs.blobs)).toEqual([]);
    expect(await store.hasBlob(sha256Digest(Buffer.alloc(64 * 1024, 1)))).toBe(false);
    await Store.open(root);
    expect(fs.readdirSync(store.dirs.tmp)).toEqual([]);
  });

  it('recovers a lock held by a process that was killed', async () => {
    const root = path.join(freshRoot(), 's');
    const store = await Store.open(root);
    const p = run(root, 'hold-lock', 'gc');
    expect(await p.next()).toEqual({ locked: true });
    let acquired = false;
    const waiting = store.lock('gc').then((release) => {
      acquired = true;
      return release;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(acquired).toBe(false);
    p.child.kill('SIGKILL');
    const release = await waiting;
    await release();
  });

  it('leases without gc\'s lock while no prune runs, and waits for one that runs', async () => {
    const root = path.join(freshRoot(), 's');
    const store = await Store.open(root);
    const { digest } = await store.writeBlob('pinned');
    const pin = (): Promise<{ release: () => Promise<void> }> => store.pinUnpruned(async () => ({ release: await store.lease([digest]) }));
    // A store no prune has counted yet: the first pin takes the lock and starts the count.
    await (await pin()).release();
    const holder = run(root, 'hold-lock', 'gc');
    expect(await holder.next()).toEqual({ locked: true });
    await (await pin()).release();
    holder.child.kill('SIGKILL');
    await holder.exit;

    const pruner = run(root, 'prune-forever');
    expect(await pruner.next()).toEqual({ pruning: true });
    let pinned = false;
    const waiting = pin().then((p) => {
      pinned = true;
      return p;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(pinned).toBe(false);
    // The prune died with the count odd: the waiting pin takes the lock and settles it.
    pruner.child.kill('SIGKILL');
    await (await waiting).release();
    const again = run(root, 'hold-lock', 'gc');
    expect(await again.next()).toEqual({ locked: true });
    await (await pin()).release();
    again.child.kill('SIGKILL');
  });

  it('looks up and leases again under the lock when a prune came in between', async () => {
    const root = path.join(freshRoot(), 's');
    const store = await Store.open(root);
    await store.gc();
    const released: number[] = [];
    let calls = 0;
    const r = await store.pinUnpruned(async () => {
      const call = ++calls;
      if (call === 1) await store.gc();
      return { call, release: async () => void released.push(call) };
    });
    expect(r.call).toBe(2);
    expect(released).toEqual([1]);
  });

  it('honours a lease only while its process lives', async () => {
    const root = path.join(freshRoot(), 's');
    const store = await Store.open(root);
    const { digest } = await store.writeBlob('leased elsewhere');
    const p = run(root, 'lease', digest);
    expect(await p.next()).toEqual({ leased: true });
    expect((await store.gc()).removed).toEqual([]);
    p.child.kill('SIGKILL');
    await p.exit;
    expect((await store.gc()).removed).toEqual([`blob:${digest}`]);
  });
});
