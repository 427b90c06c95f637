import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBusyboxRootfs } from '../../../../test/support/busybox.ts';
import { hasCommand, isRoot, NEEDS_ROOT, tempDir } from '../../../../test/support/root.ts';
import { diffUpperToLayer } from '../layer/diff-upper.ts';
import { memorySink, readTar } from '../layer/read-tar.test-support.ts';
import { mountsUnder } from '../snapshot/mountinfo.ts';
import { OverlaySnapshotter } from '../snapshot/overlay-snapshotter.ts';
import type { ActiveSnapshot } from '../snapshot/snapshotter.ts';
import { startSysHelper } from '../snapshot/sys-helper.ts';
import type { RunRequest, RunResult } from './container-runtime.ts';
import { buildOciSpec } from './oci-spec.ts';
import { SYSTEM_PROFILE } from './seccomp.ts';
import { RecordingRuntime } from './recording-runtime.ts';
import { RuncRuntime } from './runc-runtime.ts';
import { resolveUser } from './resolve-user.ts';

const ROOT = { uid: 0, gid: 0 };
// Docker's default bounding set: chown dac_override fowner fsetid kill setgid setuid setpcap
// net_bind_service net_raw sys_chroot mknod audit_write setfcap.
const DOCKER_CAPS = '00000000a80425fb';

/** The parent pid and the environment of the `runc run` running now for the state dir `stateDir`. */
function runcParent(stateDir: string): { ppid: number; env: string[] } | undefined {
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (path.basename(argv[0] ?? '') !== 'runc' || !argv.includes('run') || !argv.some((a) => a.startsWith(stateDir))) continue;
      const ppid = /^PPid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (ppid) return { ppid: Number(ppid), env: fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0') };
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

describe.skipIf(!isRoot || !hasCommand('runc'))(`RuncRuntime (${NEEDS_ROOT})`, () => {
  let tmp: { dir: string; cleanup: () => void };
  let stateDir: string;
  let base: string;
  let runtime: RuncRuntime;
  let snapshotter: OverlaySnapshotter;

  beforeAll(() => {
    tmp = tempDir('tbuild-runc-');
    stateDir = path.join(tmp.dir, 'state');
    base = makeBusyboxRootfs(path.join(tmp.dir, 'base'));
    fs.mkdirSync(path.join(base, 'home/app'), { recursive: true });
    fs.chownSync(path.join(base, 'home/app'), 1000, 1000);
    runtime = new RuncRuntime({ stateDir });
    snapshotter = new OverlaySnapshotter({ stateDir });
    // Once the helper is up, runc starts through it (helper-process.ts); the tests run that way.
    return startSysHelper().then((up) => expect(up).toBe(true));
  });
  afterAll(() => tmp?.cleanup());

  async function withRootfs<T>(fn: (snap: ActiveSnapshot) => Promise<T>): Promise<T> {
    const snap = await snapshotter.prepare({ lowers: [base], key: 'run' });
    try {
      return await fn(snap);
    } finally {
      await snap.discard();
    }
  }

  async function run(
    snap: ActiveSnapshot,
    script: string,
    extra: Partial<RunRequest> = {},
    signal?: AbortSignal,
  ): Promise<RunResult & { out: string; err: string }> {
    let out = '';
    let err = '';
    const res = await runtime.run(
      { rootfs: snap.rootfs, args: ['/bin/sh', '-c', script], env: [], cwd: '/', user: ROOT, ...extra },
      { onStdout: (b) => (out += b.toString()), onStderr: (b) => (err += b.toString()) },
      signal,
    );
    return { ...res, out, err };
  }

  it('runs a command, streams its output and reports exit codes', async () => {
    await withRootfs(async (snap) => {
      const ok = await run(snap, 'echo hello; echo oops >&2');
      expect(ok).toMatchObject({ exitCode: 0, out: 'hello\n', err: 'oops\n' });
      expect((await run(snap, 'exit 3')).exitCode).toBe(3);
      // pid 1 ignores its own SIGKILL, so a child dies and the shell passes its status on.
      const killed = await run(snap, "sh -c 'kill -9 $$'; exit $?");
      expect(killed).toMatchObject({ exitCode: 137, signal: 'SIGKILL' });
    });
  });

  it('applies env, working dir and a user resolved from the image', async () => {
    await withRootfs(async (snap) => {
      const user = resolveUser(snap.rootfs, 'app');
      const res = await run(snap, 'echo "$FOO|$PATH"; pwd; id -u; id -g; touch here', {
        env: ['FOO=bar baz'],
        cwd: '/home/app/work',
        user,
      });
      expect(res.out).toBe('bar baz|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n/home/app/work\n1000\n1000\n');
      // The missing working dir was created for (and owned by) the user.
      expect(fs.statSync(path.join(snap.upper, 'home/app/work/here')).uid).toBe(1000);
    });
  });

  it('isolates the network (only lo) unless host networking is asked for', async () => {
    await withRootfs(async (snap) => {
      const none = await run(snap, "ls /sys/class/net; cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '");
      expect(none.out).toBe('lo\nlo\n');
      const host = await run(snap, 'ls /sys/class/net | wc -l', { network: 'host' });
      expect(Number(host.out.trim())).toBe(fs.readdirSync('/sys/class/net').length);
    });
  });

  it.skipIf(!fs.existsSync(SYSTEM_PROFILE))("filters syscalls with docker's seccomp profile, as BuildKit does; seccomp: null runs unfiltered", async () => {
    await withRootfs(async (snap) => {
      // unshare(2) needs no capability for a user namespace, but the profile allows it only with CAP_SYS_ADMIN.
      const script = 'grep "^Seccomp:" /proc/self/status; unshare -U true && echo unshared || echo refused';
      expect((await run(snap, script)).out).toBe('Seccomp:\t2\nrefused\n');
      const plain = new RuncRuntime({ stateDir, seccomp: null });
      let out = '';
      await plain.run({ rootfs: snap.rootfs, args: ['/bin/sh', '-c', script], env: [], cwd: '/', user: ROOT }, { onStdout: (b) => (out += b.toString()), onStderr: () => undefined });
      expect(out).toBe('Seccomp:\t0\nunshared\n');
    });
  });

  it("grants Docker's default capability set and nothing more", async () => {
    await withRootfs(async (snap) => {
      const res = await run(snap, 'grep Cap /proc/self/status');
      expect(res.out).toContain(`CapBnd:\t${DOCKER_CAPS}`);
      expect(res.out).toContain(`CapEff:\t${DOCKER_CAPS}`);
      const app = await run(snap, 'grep CapEff /proc/self/status', { user: { uid: 1000, gid: 1000 } });
      expect(app.out).toBe('CapEff:\t0000000000000000\n');
    });
  });

  it('provides /etc/hosts, resolv.conf and hostname read-only without writing them into the layer', async () => {
    await withRootfs(async (snap) => {
      const res = await run(snap, 'cat /etc/hosts; cat /etc/hostname; hostname; echo x >> /etc/hosts || echo ro', {
        hostsFile: '10.0.0.1 db\n',
      });
      expect(res.out).toBe('10.0.0.1 db\nbuildkitsandbox\nbuildkitsandbox\nro\n');
      await snap.release();
      expect(await layerEntries(snap)).toEqual([]);
      expect(fs.existsSync(path.join(snap.upper, 'etc/hosts'))).toBe(false);
    });
  });

  it('binds host dirs read-only or read-write and tmpfs, leaving no mount points in the layer', async () => {
    const host = path.join(tmp.dir, 'bind');
    fs.mkdirSync(host, { recursive: true });
    fs.writeFileSync(path.join(host, 'in'), 'from host');
    await withRootfs(async (snap) => {
      const ro = await run(snap, 'cat /mnt/ro/in; touch /mnt/ro/x 2>/dev/null || echo denied; echo t > /scratch/t; echo made > /mnt/rw/out', {
        mounts: [
          { type: 'bind', source: host, target: '/mnt/ro', readonly: true },
          { type: 'bind', source: host, target: '/mnt/rw', readonly: false },
          { type: 'tmpfs', target: '/scratch' },
        ],
      });
      expect(ro.out).toBe('from hostdenied\n');
      expect(fs.readFileSync(path.join(host, 'out'), 'utf8')).toBe('made\n');
      await snap.release();
      expect(await layerEntries(snap)).toEqual([]);
    });
  });

  it('refuses working dirs under /proc, also through an image symlink (CVE-2024-21626)', async () => {
    await withRootfs(async (snap) => {
      await expect(run(snap, 'ls ../../../', { cwd: '/proc/self/fd/7' })).rejects.toMatchObject({ code: 'TB_EXEC_WORKDIR_INVALID' });
      fs.symlinkSync('/proc/self/fd/7', path.join(snap.rootfs, 'w'));
      await expect(run(snap, 'ls', { cwd: '/w' })).rejects.toMatchObject({ code: 'TB_EXEC_WORKDIR_INVALID' });
      fs.symlinkSync('../../../../../../proc/self/fd/8', path.join(snap.rootfs, 'w2'));
      await expect(run(snap, 'ls', { cwd: '/w2/x' })).rejects.toMatchObject({ code: 'TB_EXEC_WORKDIR_INVALID' });
    });
  });

  it('keeps image symlinks on mount targets inside the rootfs', async () => {
    const canary = path.join(tmp.dir, 'canary');
    fs.writeFileSync(canary, 'untouched');
    await withRootfs(async (snap) => {
      // A hostile image points /etc/hosts and a bind target at host paths.
      fs.symlinkSync(canary, path.join(snap.rootfs, 'etc/hosts'));
      fs.symlinkSync(path.dirname(canary), path.join(snap.rootfs, 'escape'));
      const res = await run(snap, 'cat /etc/hosts; echo pwned > /escape/x/f 2>/dev/null; ls /escape/x', {
        hostsFile: 'mine\n',
        mounts: [{ type: 'tmpfs', target: '/escape/x' }],
      });
      expect(res.out).toBe('mine\nf\n');
      expect(fs.readFileSync(canary, 'utf8')).toBe('untouched');
      expect(fs.existsSync(path.join(path.dirname(canary), 'x'))).toBe(false);
    });
  });

  it("turns a RUN's changes into layer entries, whiteouts and links, and refuses .wh. names", async () => {
    await withRootfs(async (snap) => {
      const res = await run(snap, 'rm /bin/vi && rm -rf /tmp && mkdir /tmp && echo a > /tmp/a && ln /bin/busybox /bb && (mknod /dev0 c 0 0 || echo refused)');
      // overlayfs itself refuses to create a 0/0 device (a forged whiteout) in the merged dir.
      expect(res).toMatchObject({ exitCode: 0, out: 'refused\n' });
      await snap.release();
      expect(await layerEntries(snap)).toEqual(['bb', 'bin/', 'bin/.wh.vi', 'bin/busybox', 'tmp/', 'tmp/.wh..wh..opq', 'tmp/a']);
      const entries = await layerEntries(snap, true);
      expect(entries.find((e) => e.startsWith('bin/busybox'))).toBe('bin/busybox link bb');
    });
    await withRootfs(async (snap) => {
      await run(snap, 'mkdir /app && touch /app/.wh.important');
      await snap.release();
      await expect(layerEntries(snap)).rejects.toMatchObject({ code: 'TB_EXEC_WHITEOUT_NAME' });
    });
  });

  it('honours a read-only root filesystem', async () => {
    await withRootfs(async (snap) => {
      const res = await run(snap, 'touch /x 2>/dev/null || echo ro; echo ok > /dev/shm/y && cat /dev/shm/y', { readonlyRootfs: true });
      expect(res.out).toBe('ro\nok\n');
    });
  });

  it('refuses images whose /dev or /proc is a symlink', async () => {
    const hostDir = path.join(tmp.dir, 'host-dir');
    fs.mkdirSync(hostDir, { recursive: true });
    for (const [p, target] of [
      ['dev', hostDir],
      ['proc', '/'],
    ]) {
      await withRootfs(async (snap) => {
        fs.symlinkSync(target!, path.join(snap.rootfs, p!));
        await expect(run(snap, 'true')).rejects.toMatchObject({ code: 'TB_EXEC_ROOTFS_UNSAFE' });
      });
    }
    expect(fs.readdirSync(hostDir)).toEqual([]);
  });

  it('starts runc from the sys helper, not by forking tbuild, and reads all of its output', async () => {
    await withRootfs(async (snap) => {
      let runc: { ppid: number; env: string[] } | undefined;
      let out = 0;
      const running = runtime.run(
        { rootfs: snap.rootfs, args: ['/bin/sh', '-c', 'head -c 300000 /dev/zero | tr "\\0" a; echo; sleep 0.3; echo done >&2'], env: [], cwd: '/', user: ROOT },
        {
          onStdout: (b) => {
            out += b.length;
            runc ??= runcParent(stateDir);
          },
          onStderr() {},
        },
      );
      expect(await running).toMatchObject({ exitCode: 0 });
      expect(out).toBe(300_001);
      expect(runc).toBeDefined();
      const parent = runc!.ppid;
      expect(parent).not.toBe(process.pid);
      // runc's Go runtime on one thread (runc-runtime.ts, RUNC_ENV); the helper's own environment is not changed.
      expect(runc!.env).toContain('GOMAXPROCS=1');
      expect(fs.readFileSync(`/proc/${parent}/environ`, 'utf8').split('\0')).not.toContain('GOMAXPROCS=1');
      const helperArgv = fs.readFileSync(`/proc/${parent}/cmdline`, 'utf8').split('\0');
      expect(path.basename(helperArgv[0]!)).toMatch(/^python/);
      expect(helperArgv.slice(1, 3)).toEqual(['-S', '-c']);
    });
  });

  it('starts runc itself when the sys helper is switched off', async () => {
    await withRootfs(async (snap) => {
      let runc: { ppid: number; env: string[] } | undefined;
      let out = '';
      process.env.TBUILD_NO_SYS_HELPER = '1';
      try {
        const res = await runtime.run(
          { rootfs: snap.rootfs, args: ['/bin/sh', '-c', 'echo up; env; sleep 0.2; echo oops >&2; exit 4'], env: [], cwd: '/', user: ROOT },
          {
            onStdout: (b) => {
              out += b.toString();
              runc ??= runcParent(stateDir);
            },
            onStderr() {},
          },
        );
        expect(res.exitCode).toBe(4);
      } finally {
        delete process.env.TBUILD_NO_SYS_HELPER;
      }
      expect(runc?.ppid).toBe(process.pid);
      expect(runc?.env).toContain('GOMAXPROCS=1');
      // runc's environment stays runc's: the step's process has only what the build gave it.
      expect(out).toContain('PATH=');
      expect(out).not.toContain('GOMAXPROCS');
    });
  });

  it('reports a runc binary that does not exist as TB_EXEC_RUNTIME_NOT_FOUND', async () => {
    await withRootfs(async (snap) => {
      const missing = new RuncRuntime({ stateDir, runc: '/no/such/runc' });
      await expect(
        missing.run({ rootfs: snap.rootfs, args: ['/bin/true'], env: [], cwd: '/', user: ROOT }, { onStdout() {}, onStderr() {} }),
      ).rejects.toMatchObject({ code: 'TB_EXEC_RUNTIME_NOT_FOUND' });
    });
  });

  it('an already aborted signal runs nothing', async () => {
    await withRootfs(async (snap) => {
      await expect(run(snap, 'touch /ran', {}, AbortSignal.abort())).rejects.toMatchObject({ code: 'TB_EXEC_CANCELLED' });
      expect(fs.existsSync(path.join(snap.rootfs, 'ran'))).toBe(false);
    });
  });

  it('reports a program that cannot start as TB_EXEC_START_FAILED', async () => {
    await withRootfs(async (snap) => {
      await expect(
        runtime.run({ rootfs: snap.rootfs, args: ['/no/such'], env: [], cwd: '/', user: ROOT }, { onStdout() {}, onStderr() {} }),
      ).rejects.toMatchObject({ code: 'TB_EXEC_START_FAILED', message: expect.stringContaining('/no/such') });
    });
  });

  it('abort kills and deletes the container and leaves no mount behind', async () => {
    await withRootfs(async (snap) => {
      const ac = new AbortController();
      let out = '';
      const running = runtime.run(
        { rootfs: snap.rootfs, args: ['/bin/sh', '-c', 'echo started; sleep 100'], env: [], cwd: '/', user: ROOT },
        {
          onStdout: (b) => {
            out += b.toString();
            if (out.includes('started')) ac.abort();
          },
          onStderr() {},
        },
        ac.signal,
      );
      await expect(running).rejects.toMatchObject({ code: 'TB_EXEC_CANCELLED' });
      expect(runcList()).toEqual([]);
      await snap.release();
      expect(mountsUnder(stateDir)).toEqual([]);
      expect(fs.readdirSync(path.join(stateDir, 'bundles'))).toEqual([]);
    });
  });

  it('RecordingRuntime records runs over the real runtime, including their overlap', async () => {
    await withRootfs(async (snap) => {
      const rec = new RecordingRuntime(runtime);
      const io = { onStdout() {}, onStderr() {} };
      const req = { rootfs: snap.rootfs, env: [], cwd: '/', user: ROOT };
      await Promise.all([rec.run({ ...req, args: ['sleep', '0.3'] }, io), rec.run({ ...req, args: ['true'] }, io)]);
      await rec.run({ ...req, args: ['sh', '-c', 'exit 4'] }, io);
      expect(rec.runs.map((r) => [r.args[0], r.result?.exitCode])).toEqual([
        ['sleep', 0],
        ['true', 0],
        ['sh', 4],
      ]);
      expect(rec.maxConcurrent).toBe(2);
    });
  });

  it('kills a container that outlives limits.timeoutMs', async () => {
    await withRootfs(async (snap) => {
      const res = await run(snap, 'sleep 100', { limits: { timeoutMs: 300 } });
      expect(res).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
      expect(runcList()).toEqual([]);
    });
  });

  it('cleanupStale removes containers whose tbuild process died', async () => {
    await withRootfs(async (snap) => {
      // A container started by a process that is gone: a detached runc run whose bundle's owner is dead.
      const bundle = path.join(stateDir, 'bundles', 'tb-orphan');
      fs.mkdirSync(bundle, { recursive: true });
      fs.writeFileSync(path.join(bundle, 'owner.json'), JSON.stringify({ pid: 2 ** 22 + 1, start: '1' }));
      const etc = { hosts: path.join(bundle, 'hosts'), resolvConf: path.join(bundle, 'resolv.conf'), hostname: path.join(bundle, 'hostname') };
      for (const f of Object.values(etc)) fs.writeFileSync(f, '');
      const spec = buildOciSpec({ rootfs: snap.rootfs, args: ['/bin/sleep', '100'], env: [], cwd: '/', user: ROOT }, etc);
      fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
      const child = spawn('runc', ['--root', path.join(stateDir, 'runc'), 'run', '--detach', '--bundle', bundle, 'tb-orphan'], {
        stdio: 'ignore',
      });
      await new Promise((r) => child.once('close', r));
      expect(runcList()).toEqual(['tb-orphan']);
      expect(await runtime.cleanupStale()).toEqual(['tb-orphan']);
      expect(runcList()).toEqual([]);
      expect(fs.existsSync(bundle)).toBe(false);
    });
  });

  /** What the RUN would contribute to the image: the names in its layer tar. */
  async function layerEntries(snap: ActiveSnapshot, withLinks = false): Promise<string[]> {
    const sink = memorySink();
    await diffUpperToLayer(snap.upper, sink, { compression: 'none', lowers: [base] });
    return (await readTar(sink.bytes())).map((e) => (withLinks && e.linkname ? `${e.name} ${e.type} ${e.linkname}` : e.name));
  }

  // Last: it kills this process's sys helper, and later RUNs would start runc themselves.
  it('fails a RUN whose sys helper dies under it, and leaves no container behind', async () => {
    await withRootfs(async (snap) => {
      let helper: number | undefined;
      // Should runc not come from the helper, the run is cancelled rather than left to sleep.
      const ac = new AbortController();
      const running = runtime.run(
        { rootfs: snap.rootfs, args: ['/bin/sh', '-c', 'echo started; sleep 100'], env: [], cwd: '/', user: ROOT },
        {
          onStdout: () => {
            helper ??= runcParent(stateDir)?.ppid;
            if (helper !== undefined && helper !== process.pid) process.kill(helper, 'SIGKILL');
            else ac.abort();
          },
          onStderr() {},
        },
        ac.signal,
      );
      await expect(running).rejects.toThrow(/sys helper exited/);
      expect(helper).not.toBe(process.pid);
      expect(runcList()).toEqual([]);
      expect(fs.readdirSync(path.join(stateDir, 'bundles'))).toEqual([]);
      // The next RUN starts runc from tbuild.
      expect(await run(snap, 'echo again')).toMatchObject({ exitCode: 0, out: 'again\n' });
    });
  });

  function runcList(): string[] {
    const out = execFileSync('runc', ['--root', path.join(stateDir, 'runc'), 'list', '-q'], { encoding: 'utf8' });
    return out.split('\n').filter((l) => l !== '');
  }
});
