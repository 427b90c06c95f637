import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { THIN_CLIENT, TBUILD_BIN } from '../support/cli.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';
import { seededStore } from '../support/seed.ts';

/** Processes whose parent is `ppid`, with their command lines. */
function children(ppid: number): Array<{ pid: number; argv: string[] }> {
  const out: Array<{ pid: number; argv: string[] }> = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== ppid) continue;
      out.push({ pid: Number(name), argv: fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean) });
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

// The thin client starts tbuild-sys for a build it runs here (native/client.c), and tbuild
// takes its pipes over (bin/tbuild.js) instead of forking itself to spawn one.
describe.skipIf(!isRoot || !fs.existsSync(THIN_CLIENT))(`the sys helper the thin client starts (${NEEDS_ROOT})`, () => {
  const work = tempDir('tbuild-thin-sys-');
  let store: Awaited<ReturnType<typeof seededStore>>;
  beforeAll(async () => {
    store = await seededStore();
    fs.writeFileSync(path.join(work.dir, 'Dockerfile'), 'FROM busybox\nRUN sleep 2 && echo done > /out\n');
  });
  afterAll(() => {
    store?.cleanup();
    work.cleanup();
  });

  it('serves the build, is the only helper, and ends with tbuild', async () => {
    const build = spawn(THIN_CLIENT, ['build', '--root', store.root, '--network', 'none', '-q', '--no-cache', work.dir], {
      env: { ...process.env, TBUILD_NO_SERVER: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    build.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<number | null>((resolve) => build.once('exit', resolve));
    // While the RUN sleeps (its runc started by the helper): the client became `node
    // bin/tbuild.js` (same pid), and its one helper is the one the client started, under the
    // bare name it gives it (Node.js would have given the full path).
    let helpers: Array<{ pid: number; argv: string[] }> = [];
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
      helpers = children(build.pid!).filter((c) => /tbuild-sys$/.test(c.argv[0] ?? ''));
      if (helpers.some((h) => children(h.pid).length > 0)) break;
    }
    try {
      expect(fs.readFileSync(`/proc/${build.pid}/cmdline`, 'utf8').split('\0').some((a) => path.resolve(a) === TBUILD_BIN)).toBe(true);
      expect(helpers.map((h) => h.argv)).toEqual([['tbuild-sys']]);
    } catch (e) {
      // A failed look above must not leave the build running into the cleanup.
      build.kill('SIGTERM');
      await done;
      throw e;
    }
    expect(await done, stderr).toBe(0);
    // Its stdin closed with tbuild: it is gone (or a zombie about to be reaped).
    const running = (): boolean => {
      try {
        return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${helpers[0]!.pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    for (const deadline = Date.now() + 5_000; running() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
    expect(running()).toBe(false);
  });
});
