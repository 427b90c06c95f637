import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../store.ts';
import { reapDeadBuilds } from './reap.ts';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) fs.rmSync(r, { recursive: true, force: true });
});

describe('reapDeadBuilds', () => {
  it("kills a dead build's runc processes, one still writing into its dir, then removes the dir", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-reap-'));
    roots.push(root);
    const store = await openStore(root);
    const deadPid = spawnSync('true').pid!;
    const stale = path.join(store.runDir, String(deadPid));
    const runcRoot = path.join(stale, '1', 'runc');
    fs.mkdirSync(runcRoot, { recursive: true });
    // Stands in for a `runc --root <dir>/runc run` the dead build started: it names the dir in its
    // arguments and keeps (re)creating its state there.
    const stray = spawn('sh', ['-c', 'while :; do mkdir -p "$2/tb-x" && : > "$2/tb-x/state.json"; done', 'runc', '--root', runcRoot], { stdio: 'ignore' });
    // A command that only names a file there is not runc's: it is left running.
    fs.writeFileSync(path.join(runcRoot, 'log'), '');
    const reader = spawn('tail', ['-f', path.join(runcRoot, 'log')], { stdio: 'ignore' });
    // Stands in for the container's `runc init`, left waiting on the state dir's exec.fifo once its
    // `runc run` died: named runc, it names no path but holds a file there open.
    const fakeRunc = path.join(root, 'runc');
    fs.copyFileSync(execFileSync('sh', ['-c', 'command -v sleep'], { encoding: 'utf8' }).trim(), fakeRunc);
    fs.chmodSync(fakeRunc, 0o755);
    fs.mkdirSync(path.join(runcRoot, 'tb-y'));
    const fifo = fs.openSync(path.join(runcRoot, 'tb-y/exec.fifo'), 'w');
    const init = spawn(fakeRunc, ['30'], { stdio: ['ignore', 'ignore', 'ignore', fifo] });
    fs.closeSync(fifo);
    const exited = Promise.all([new Promise((r) => stray.once('exit', r)), new Promise((r) => init.once('exit', r))]);
    try {
      while (!fs.existsSync(path.join(runcRoot, 'tb-x/state.json'))) await new Promise((r) => setTimeout(r, 5));
      expect(await reapDeadBuilds(store, 'runc-not-installed')).toEqual([deadPid]);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      expect(stray.signalCode).toBe('SIGKILL');
      expect(init.signalCode).toBe('SIGKILL');
      expect(reader.exitCode ?? reader.signalCode).toBeNull();
      expect(fs.readdirSync(store.runDir)).toEqual([]);
    } finally {
      for (const p of [stray, init, reader]) p.kill('SIGKILL');
    }
  });

  it('leaves the dir of a build that still runs', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-reap-'));
    roots.push(root);
    const store = await openStore(root);
    const live = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      fs.mkdirSync(path.join(store.runDir, String(live.pid), '1'), { recursive: true });
      expect(await reapDeadBuilds(store, 'runc-not-installed')).toEqual([]);
      expect(fs.readdirSync(store.runDir)).toEqual([String(live.pid)]);
    } finally {
      live.kill('SIGKILL');
    }
  });
});
