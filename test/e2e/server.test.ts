import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entryCommand, REPO, tbuild as runTbuild, THIN_CLIENT, type Entry } from '../support/cli.ts';
import { isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';
import { mountsUnder, seededStore } from '../support/seed.ts';

// `sleep 3838` inside a container: a marker no other process on the machine runs.
const MARKER = '3838';
const BUNDLE = path.join(REPO, 'packages/tbuild/dist/tbuild.cjs');

function sleepers(): number[] {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8') === `sleep\0${MARKER}\0`;
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await new Promise((r) => setTimeout(r, 25))) if (await cond()) return;
  throw new Error(`timed out waiting for ${what}`);
}

interface Status {
  pid: number;
  served: number;
  active: number;
}

// The whole suite runs for each entry: `node bin/tbuild.js` and, where `pnpm build` compiled
// it, the thin client (native/client.c), which sends builds without starting Node.js.
const entries: Entry[] = fs.existsSync(THIN_CLIENT) ? ['node', 'thin'] : ['node'];

describe.skipIf(!isRoot)(`tbuild server (${NEEDS_ROOT})`, () => {
  describe.each(entries)('through the %s entry', (entry) => {
    const tbuild = (args: string[], opts: Parameters<typeof runTbuild>[1] = {}) => runTbuild(args, { entry, ...opts });
    let root: string;
    let cleanupStore: () => void;
    const work = tempDir('tbuild-srv-');
    const ctx = path.join(work.dir, 'ctx');
    const sock = (): string => path.join(root, 'run', 'server.sock');
    const log = (): string => fs.readFileSync(path.join(root, 'run', 'server.log'), 'utf8');
    const status = async (): Promise<Status | undefined> => {
      const r = await tbuild(['server', 'status', '--root', root]);
      if (r.code !== 0) return undefined;
      const m = /pid (\d+), .*, (\d+) builds served, (\d+) running/.exec(r.stdout);
      return m ? { pid: Number(m[1]), served: Number(m[2]), active: Number(m[3]) } : undefined;
    };
    const write = (name: string, text: string): void => {
      fs.mkdirSync(path.dirname(path.join(ctx, name)), { recursive: true });
      fs.writeFileSync(path.join(ctx, name), text);
    };

    beforeAll(async () => {
      const s = await seededStore();
      root = s.root;
      cleanupStore = s.cleanup;
      write('Dockerfile', 'FROM busybox\nARG FROM_CLIENT\nRUN test "$FROM_CLIENT" = yes && echo built > /built\nCOPY app.txt /app.txt\n');
      write('app.txt', 'one\n');
      // A short idle timeout: a server this suite leaves behind (the runner killed) exits soon.
      const r = await tbuild(['server', 'start', '--root', root, '--idle-timeout', '2m'], { env: { FROM_CLIENT: 'no' } });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/tbuild server running: pid \d+/);
    });

    afterAll(async () => {
      await tbuild(['server', 'stop', '--root', root]);
      cleanupStore?.();
      work.cleanup();
    });

    it('runs builds in the server with the client’s environment, cwd and output, and the same result as a local build', async () => {
      const before = (await status())!;
      const served = await tbuild(['build', '--root', root, '-q', '--build-arg', 'FROM_CLIENT', '--iidfile', 'iid.txt', 'ctx'], { cwd: work.dir, env: { FROM_CLIENT: 'yes' } });
      expect(served.code, served.stderr).toBe(0);
      const after = (await status())!;
      expect(after.pid).toBe(before.pid);
      expect(after.served).toBe(before.served + 1);
      expect(log()).toContain(`build ${after.served} for ${work.dir}${entry === 'thin' ? ' (thin client)' : ''}: `);
      // -q output came back over the socket; --iidfile landed in the client's cwd.
      const id = fs.readFileSync(path.join(work.dir, 'iid.txt'), 'utf8');
      expect(served.stdout.trim()).toBe(id);

      const local = await tbuild(['build', '--root', root, '-q', '--build-arg', 'FROM_CLIENT', 'ctx'], { cwd: work.dir, env: { FROM_CLIENT: 'yes', TBUILD_NO_SERVER: '1' } });
      expect(local.code, local.stderr).toBe(0);
      expect(local.stdout.trim()).toBe(id);
      expect((await status())!.served).toBe(after.served);
      // An empty TBUILD_NO_SERVER is unset, for either entry (JavaScript reads '' as false).
      const empty = await tbuild(['build', '--root', root, '-q', '--build-arg', 'FROM_CLIENT', 'ctx'], { cwd: work.dir, env: { FROM_CLIENT: 'yes', TBUILD_NO_SERVER: '' } });
      expect(empty.stdout.trim()).toBe(id);
      expect((await status())!.served).toBe(after.served + 1);
      expect(log()).toContain(`build ${after.served + 1} for ${work.dir}${entry === 'thin' ? ' (thin client)' : ''}: `);
    });

    it('returns a failing build’s exit code and its error, naming the Dockerfile from the client’s cwd', async () => {
      const before = (await status())!.served;
      const r = await tbuild(['build', '--root', root, '--build-arg', 'FROM_CLIENT=no', 'ctx'], { cwd: work.dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('ctx/Dockerfile:3:1: error TB_EXEC_NONZERO_EXIT');
      expect((await status())!.served).toBe(before + 1);
    });

    it('passes a long output through whole, and runs what is not a build itself', async () => {
      write('loud/Dockerfile', 'FROM busybox\nARG N\nRUN seq 1 30000 && echo "$N"\n');
      const before = (await status())!.served;
      const r = await tbuild(['build', '--root', root, '--progress=plain', '--build-arg', `N=${entry}${Date.now()}`, 'ctx/loud'], { cwd: work.dir });
      expect(r.code, r.stderr).toBe(0);
      const numbers = r.stderr.split('\n').map((l) => /^#\d+ [\d.]+ (\d+)$/.exec(l)?.[1]).filter(Boolean);
      expect(numbers).toHaveLength(30000);
      expect(numbers[29999]).toBe('30000');
      expect((await status())!.served).toBe(before + 1);
      // Again into a non-blocking pipe that a slow reader drains: writes then fail with EAGAIN.
      const [cmd, args] = entryCommand(entry, ['build', '--root', root, '--progress=plain', '--build-arg', `N=${entry}${Date.now()}`, 'ctx/loud']);
      const nonBlocking = 'import fcntl, os, sys\nfcntl.fcntl(2, fcntl.F_SETFL, fcntl.fcntl(2, fcntl.F_GETFL) | os.O_NONBLOCK)\nos.execv(sys.argv[1], sys.argv[1:])';
      const slow = spawnSync('sh', ['-c', 'python3 -c "$NB" "$@" 2>&1 >/dev/null | { sleep 1; cat; }', 'sh', cmd, ...args], { cwd: work.dir, env: { ...process.env, NB: nonBlocking, CI: '1' }, encoding: 'utf8', maxBuffer: 64 << 20 });
      expect(slow.stdout.split('\n').filter((l) => /^#\d+ [\d.]+ \d+$/.test(l))).toHaveLength(30000);
      expect((await status())!.served).toBe(before + 2);
      const v = await tbuild(['version']);
      expect(v.code).toBe(0);
      expect(v.stdout).toMatch(/^tbuild \S+ \(node v/);
      expect((await status())!.served).toBe(before + 2);
      // The global --root may come before the command, as docker's globals do: a build still goes
      // to the server, anything else still runs here.
      const leading = await tbuild(['--root', root, 'build', '--progress=plain', 'ctx/loud'], { cwd: work.dir });
      expect(leading.code, leading.stderr).toBe(0);
      expect((await status())!.served).toBe(before + 3);
      const images = await tbuild([`--root=${root}`, 'images']);
      expect(images.code, images.stderr).toBe(0);
      expect(images.stdout).toMatch(/^REPOSITORY/);
      expect((await status())!.served).toBe(before + 3);
    });

    it('runs builds of two clients at once', async () => {
      write('two/Dockerfile', 'FROM busybox\nARG N\nRUN sleep 0.3 && echo "$N" > /n\n');
      const before = (await status())!.served;
      const [a, b] = await Promise.all(
        ['1', '2'].map((n) => tbuild(['build', '--root', root, '-q', '--no-cache', '--build-arg', `N=${n}`, 'ctx/two'], { cwd: work.dir })),
      );
      expect(a!.code, a!.stderr).toBe(0);
      expect(b!.code, b!.stderr).toBe(0);
      expect(a!.stdout.trim()).toMatch(/^sha256:/);
      expect(a!.stdout.trim()).not.toBe(b!.stdout.trim());
      expect((await status())!.served).toBe(before + 2);
      // Both had started before either finished: the server ran them side by side.
      const lines = log().split('\n');
      const startOf = (n: number): number => lines.findIndex((l) => l.includes(`build ${n} for`));
      const firstDone = lines.findIndex((l, i) => i > startOf(before + 1) && l.includes('build done'));
      expect(startOf(before + 2)).toBeGreaterThan(0);
      expect(startOf(before + 2)).toBeLessThan(firstDone);
    });

    it('cancels the build when the client gets SIGINT, and when the client dies', async () => {
      write('slow/Dockerfile', `FROM busybox\nRUN echo started && sleep ${MARKER}\n`);
      for (const how of ['SIGINT', 'SIGKILL'] as const) {
        const [cmd, args] = entryCommand(entry, ['build', '--root', root, '--progress=plain', 'ctx/slow']);
        const child = spawn(cmd, args, { cwd: work.dir, env: { ...process.env, CI: '1' } });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
        await until('the RUN to start', () => sleepers().length === 1);
        child.kill(how);
        const code = await exited;
        if (how === 'SIGINT') {
          expect(code).toBe(1);
          expect(stderr).toContain('TB_EXEC_CANCELLED');
        }
        await until('the server to finish the build', async () => (await status())?.active === 0);
        expect(sleepers()).toEqual([]);
        expect(await mountsUnder(root)).toEqual([]);
      }
      const v = await tbuild(['cache', 'verify', '--root', root]);
      expect(v.stdout.trim()).toBe('cache verify: no problems found');
    });

    it('refuses a client of another tbuild build, which then builds by itself', async () => {
      const reply = await new Promise<{ kind: number; text: string }>((resolve, reject) => {
        const c = net.createConnection(sock());
        const body = Buffer.from(JSON.stringify({ identity: 'another', argv: ['build', 'ctx'], cwd: work.dir, env: {} }));
        const head = Buffer.from([0x68, 0, 0, 0, 0]);
        head.writeUInt32BE(body.length, 1);
        let got = Buffer.alloc(0);
        c.on('connect', () => c.write(Buffer.concat([head, body])));
        c.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
        c.on('error', reject);
        c.on('close', () => resolve({ kind: got[0]!, text: got.subarray(5).toString() }));
      });
      expect(String.fromCharCode(reply.kind)).toBe('r');
      expect(reply.text).toContain('another build of tbuild');
      expect(await status()).toBeDefined();
    });

    it('stops once tbuild is rebuilt, after running that client’s build itself', async () => {
      const server = (await status())!;
      const st = fs.statSync(BUNDLE);
      // A rebuilt bundle has a new identity; the same bytes keep V8's code cache valid.
      fs.utimesSync(BUNDLE, st.atime, new Date(st.mtimeMs + 5_000));
      try {
        write('app.txt', 'two\n');
        const r = await tbuild(['build', '--root', root, '-q', '--build-arg', 'FROM_CLIENT=yes', 'ctx'], { cwd: work.dir });
        expect(r.code, r.stderr).toBe(0);
        await until('the old server to exit', () => !fs.existsSync(`/proc/${server.pid}`));
        expect(log()).toContain('tbuild was rebuilt or upgraded');
        expect(fs.existsSync(sock())).toBe(false);
      } finally {
        fs.utimesSync(BUNDLE, st.atime, st.mtime);
      }
      const again = await tbuild(['server', 'status', '--root', root]);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('no tbuild server runs');
    });

    it('survives a server killed with SIGKILL: builds run by themselves, and start replaces the dead socket', async () => {
      expect((await tbuild(['server', 'start', '--root', root, '--idle-timeout', '2m'])).code).toBe(0);
      const pid = (await status())!.pid;
      process.kill(pid, 'SIGKILL');
      await until('the server to die', () => !fs.existsSync(`/proc/${pid}`));
      expect(fs.existsSync(sock())).toBe(true);
      const r = await tbuild(['build', '--root', root, '-q', '--build-arg', 'FROM_CLIENT=yes', 'ctx'], { cwd: work.dir });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
      const again = await tbuild(['server', 'start', '--root', root, '--idle-timeout', '2m']);
      expect(again.code, again.stderr).toBe(0);
      expect((await status())!.pid).not.toBe(pid);
      expect((await tbuild(['server', 'stop', '--root', root])).code).toBe(0);
    });

    it('gives up on a server that takes the connection but does not answer, and builds by itself', async () => {
      expect((await tbuild(['server', 'start', '--root', root, '--idle-timeout', '2m'])).code).toBe(0);
      const pid = (await status())!.pid;
      process.kill(pid, 'SIGSTOP');
      try {
        const r = await tbuild(['build', '--root', root, '-q', '--build-arg', 'FROM_CLIENT=yes', 'ctx'], { cwd: work.dir, env: { TBUILD_SERVER_ACCEPT_TIMEOUT_MS: '500' } });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      expect((await tbuild(['server', 'stop', '--root', root])).code).toBe(0);
    });

    it('stops on request and when idle, removing its socket', async () => {
      const started = await tbuild(['server', 'start', '--root', root, '--idle-timeout', '1s']);
      expect(started.code, started.stderr).toBe(0);
      const pid = (await status())!.pid;
      await until('the idle server to exit', () => !fs.existsSync(`/proc/${pid}`), 10_000);
      expect(fs.existsSync(sock())).toBe(false);

      expect((await tbuild(['server', 'start', '--root', root, '--idle-timeout', '2m'])).code).toBe(0);
      const stopped = await tbuild(['server', 'stop', '--root', root]);
      expect(stopped.stdout).toMatch(/tbuild server stopped \(pid \d+/);
      expect(fs.existsSync(sock())).toBe(false);
      expect((await tbuild(['server', 'stop', '--root', root])).stdout).toContain('no tbuild server runs');
    });
  });
});
