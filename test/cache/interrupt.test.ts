import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tbuild, TBUILD_BIN } from '../support/cli.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';
import { mountsUnder, seededStore } from '../support/seed.ts';

// A marker no other process on the machine runs: `sleep 3737` inside the container.
const MARKER = '3737';

function containerSleepers(): number[] {
  const out: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8') === `sleep\0${MARKER}\0`) out.push(Number(pid));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

describe.skipIf(!isRoot)(`SIGINT during a RUN (${NEEDS_ROOT})`, () => {
  let root: string;
  let cleanupStore: () => void;
  const work = tempDir('tbuild-int-');

  beforeAll(async () => {
    const s = await seededStore();
    root = s.root;
    cleanupStore = s.cleanup;
    fs.mkdirSync(path.join(work.dir, 'ctx'));
    fs.writeFileSync(path.join(work.dir, 'ctx/Dockerfile'), `FROM busybox\nRUN echo started && sleep ${MARKER}\n`);
  });

  afterAll(() => {
    cleanupStore?.();
    work.cleanup();
  });

  it('stops the container, cleans up and exits without waiting for the command', async () => {
    const child = spawn(process.execPath, [TBUILD_BIN, 'build', '--root', root, '--progress=rawjson', 'ctx'], { cwd: work.dir, env: { ...process.env, CI: '1' } });
    let stderr = '';
    let interrupted = false;
    let sleepersBefore = -1;
    // Far below the command's own 3737 s: if it fires, SIGINT did not stop the build.
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      // Interrupt once the command runs inside its container.
      if (!interrupted && stderr.includes('"data":"started\\n"')) {
        interrupted = true;
        // `echo` ran; the shell may still be starting `sleep`: wait (bounded) until it runs.
        void (async () => {
          const deadline = Date.now() + 5_000;
          while (containerSleepers().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
          sleepersBefore = containerSleepers().length;
          child.kill('SIGINT');
        })();
      }
    });
    const { code, signal } = await exited;
    clearTimeout(guard);
    expect(interrupted, stderr).toBe(true);
    expect(sleepersBefore).toBe(1);
    expect(signal).toBeNull();
    expect(code).toBe(1);
    expect(stderr).toContain('TB_EXEC_CANCELLED');
    expect(containerSleepers()).toEqual([]);
    expect(await mountsUnder(root)).toEqual([]);
    // Its run dir is gone: nothing for the next build (or runc list) to find.
    for (const pid of fs.readdirSync(path.join(root, 'run'))) expect(fs.readdirSync(path.join(root, 'run', pid))).toEqual([]);
    expect(fs.readdirSync(path.join(root, 'tmp'))).toEqual([]);
    const v = await tbuild(['cache', 'verify', '--root', root]);
    expect(v.stdout.trim()).toBe('cache verify: no problems found');
  });
});
