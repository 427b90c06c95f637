import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TBUILD_BIN, tbuild } from '../support/cli.ts';
import { hasCommand, isRoot, NEEDS_ROOT } from '../support/root.ts';
import { seededStore } from '../support/seed.ts';

describe.skipIf(!isRoot || !hasCommand('runc') || !hasCommand('python3'))(`tbuild run/exec -i and -t (${NEEDS_ROOT})`, () => {
  let seeded: Awaited<ReturnType<typeof seededStore>>;
  // Killed (failing the test) after 30 s: a hung attach must not hang the suite.
  const run = (args: string[], input?: string | Buffer, timeoutMs = 30_000) => tbuild(args, { env: { TBUILD_ROOT: seeded.root }, input, timeoutMs });

  beforeAll(async () => {
    seeded = await seededStore();
  });

  afterAll(async () => {
    if (seeded) for (const id of (await run(['ps', '-a', '-q'])).stdout.split('\n').filter(Boolean)) await run(['rm', '-f', id]);
    seeded?.cleanup();
  });

  it('run -i passes piped stdin and its EOF to the process', async () => {
    const r = await run(['run', '-i', '--rm', 'busybox', 'cat'], 'hi\n');
    expect(r).toMatchObject({ code: 0, stdout: 'hi\n', timedOut: false });
  });

  it('run -i carries a few hundred KB intact, and the exit code is the process\'s', async () => {
    const data = Buffer.alloc(300 * 1024, 'abcdefghij\n');
    const r = await run(['run', '-i', '--rm', 'busybox', 'sh', '-c', 'wc -c; exit 7'], data);
    expect(r.timedOut).toBe(false);
    expect(r.stdout.trim()).toBe(String(data.length));
    expect(r.code).toBe(7);
  });

  it('run without -i gives the process no stdin (EOF at once)', async () => {
    const r = await run(['run', '--rm', 'busybox', 'cat'], 'ignored\n');
    expect(r).toMatchObject({ code: 0, stdout: '', timedOut: false });
  });

  it('run -t gives the process a tty even from a pipe: \\r\\n endings, stderr merged into stdout', async () => {
    const r = await run(['run', '-t', '--rm', 'busybox', 'sh', '-c', 'tty; [ -t 0 ] && [ -t 1 ] && echo tty-yes; echo $TERM; echo oops >&2; exit 3']);
    expect(r.timedOut).toBe(false);
    expect(r.stdout).toMatch(/^\/dev\/pts\/\d+\r\ntty-yes\r\nxterm\r\noops\r\n$/);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(3);
  });

  it('run -it with piped input: the process reads lines from its tty and sees EOF', async () => {
    const r = await run(['run', '-it', '--rm', 'busybox', 'sh', '-c', 'while read l; do echo "got:$l"; done; echo done'], 'one\ntwo\n');
    expect(r.timedOut).toBe(false);
    expect(r.stdout).toContain('got:one\r\n');
    expect(r.stdout).toContain('got:two\r\n');
    expect(r.stdout).toMatch(/done\r\n$/);
    expect(r.code).toBe(0);
  });

  it('run -d -t logs the tty output; -d -i keeps stdin open (a shell stays up)', async () => {
    const d = await run(['run', '-d', '-t', '--name', 'dt', 'busybox', 'sh', '-c', 'tty; [ -t 1 ] && echo yes']);
    expect(d.code).toBe(0);
    expect((await run(['wait', 'dt'])).stdout.trim()).toBe('0');
    expect((await run(['logs', 'dt'])).stdout).toMatch(/^\/dev\/pts\/\d+\r\nyes\r\n$/);
    const dit = await run(['run', '-dit', '--name', 'dit', 'busybox', 'sh']);
    expect(dit.code).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    const ps = await run(['ps', '--format', 'json']);
    expect(ps.stdout).toContain('"Names":"dit"');
    const inspect = JSON.parse((await run(['container', 'inspect', 'dit'])).stdout) as { Config: { Tty: boolean; OpenStdin: boolean } }[];
    expect(inspect[0]!.Config).toMatchObject({ Tty: true, OpenStdin: true });
  });

  it('exec -t and exec -it run with a tty in the foreground', async () => {
    const d = await run(['run', '-d', '--name', 'box', 'busybox', 'sh', '-c', 'while true; do sleep 0.1; done']);
    expect(d.code).toBe(0);
    const t = await run(['exec', '-t', 'box', 'sh', '-c', 'tty; [ -t 0 ] && echo yes; echo err >&2; exit 4']);
    expect(t.timedOut).toBe(false);
    expect(t.stdout).toMatch(/^\/dev\/pts\/\d+\r\nyes\r\nerr\r\n$/);
    expect(t.code).toBe(4);
    const it_ = await run(['exec', '-it', 'box', 'sh', '-c', 'read a; read b; echo "$b-$a"'], 'x\ny\n');
    expect(it_.timedOut).toBe(false);
    expect(it_.stdout).toContain('y-x\r\n');
    expect(it_.code).toBe(0);
    const plain = await run(['exec', '-i', 'box', 'cat'], 'plain\n');
    expect(plain).toMatchObject({ code: 0, stdout: 'plain\n' });
    expect((await run(['rm', '-f', 'box'])).code).toBe(0);
  });

  it('a killed attached CLI leaves no hung container: the process sees EOF and --rm cleans up', async () => {
    const child = spawn(process.execPath, [TBUILD_BIN, 'run', '-i', '--rm', '--name', 'orphan', 'busybox', 'cat'], {
      env: { ...process.env, CI: '1', TBUILD_ROOT: seeded.root },
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.stdin.write('x\n');
    // Wait until it runs, then kill the CLI without letting it clean up.
    for (let i = 0; i < 200 && !(await run(['ps', '--format', 'json'])).stdout.includes('orphan'); i++) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    let gone = false;
    for (let i = 0; i < 200 && !gone; i++) {
      gone = !(await run(['ps', '-a', '--format', 'json'])).stdout.includes('orphan');
      if (!gone) await new Promise((r) => setTimeout(r, 100));
    }
    expect(gone).toBe(true);
  });

  it('SIGTERM to an attached run -i --rm stops the container and the CLI exits (no wait on its own marker)', async () => {
    const child = spawn(process.execPath, [TBUILD_BIN, 'run', '-i', '--rm', '--stop-timeout', '1', '--name', 'termed', 'busybox', 'cat'], {
      env: { ...process.env, CI: '1', TBUILD_ROOT: seeded.root },
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    for (let i = 0; i < 200 && !(await run(['ps', '--format', 'json'])).stdout.includes('termed'); i++) await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    child.kill('SIGTERM');
    const code = await Promise.race([closed, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000))]);
    if (code === 'hung') child.kill('SIGKILL');
    expect(code).toBe(137);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect((await run(['ps', '-a', '--format', 'json'])).stdout).not.toContain('termed');
  });
});
