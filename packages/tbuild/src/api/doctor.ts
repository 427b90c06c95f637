import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadSeccompProfile, SECCOMP_SYSTEM_PROFILE } from '@tbuild/executor';

export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** How to fix it, when not ok. */
  fix?: string;
}

function run(cmd: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 5000 }, (err, stdout, stderr) => resolve({ ok: !err, out: (stdout || stderr || String(err ?? '')).trim() }));
  });
}

/** Checks what a build needs on this machine and says how to fix each missing piece. */
export async function doctor(opts: { root: string; runtime?: string; env?: NodeJS.ProcessEnv }): Promise<DoctorCheck[]> {
  const env = opts.env ?? process.env;
  const runtime = opts.runtime ?? 'runc';
  const checks: DoctorCheck[] = [];

  const rv = await run(runtime, ['--version']);
  checks.push({
    name: 'runtime',
    ok: rv.ok,
    detail: rv.ok ? rv.out.split('\n')[0]! : `${runtime} not found or not runnable`,
    fix: `install Debian's runc: apt-get install runc (or pass --runtime PATH)`,
  });

  const ip = await run('ip', ['-V']);
  const iptables = await run('iptables', ['--version']);
  checks.push({
    name: 'network',
    ok: ip.ok && iptables.ok,
    detail:
      ip.ok && iptables.ok
        ? `RUN's bridge network can be set up (${iptables.out.trim().split('\n')[0]})`
        : `${[ip.ok ? '' : 'ip', iptables.ok ? '' : 'iptables'].filter(Boolean).join(' and ')} not found: RUN steps would get no network`,
    fix: 'apt-get install iproute2 iptables (or build with --network host)',
  });

  const seccomp = (() => {
    try {
      const chosen = env.TBUILD_SECCOMP_PROFILE;
      if (chosen === 'unconfined') return { ok: true, detail: 'TBUILD_SECCOMP_PROFILE=unconfined: RUN steps and containers run without a seccomp filter' };
      return loadSeccompProfile(env)
        ? { ok: true, detail: `docker's default syscall filter, from ${chosen || SECCOMP_SYSTEM_PROFILE}` }
        : { ok: false, detail: `no ${SECCOMP_SYSTEM_PROFILE}: RUN steps run without the syscall filter BuildKit applies` };
    } catch (e) {
      return { ok: false, detail: (e as Error).message };
    }
  })();
  checks.push({ name: 'seccomp', ...seccomp, fix: 'apt-get install golang-github-containers-common (it holds the profile), or set TBUILD_SECCOMP_PROFILE' });

  const fsList = await fs.readFile('/proc/filesystems', 'utf8').catch(() => '');
  const overlay = /\boverlay\b/.test(fsList);
  checks.push({
    name: 'overlayfs',
    ok: overlay,
    detail: overlay ? 'overlay filesystem available' : 'overlay is not in /proc/filesystems',
    fix: 'load the module: modprobe overlay',
  });

  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  checks.push({
    name: 'privileges',
    ok: uid === 0,
    detail: uid === 0 ? 'running as root' : `running as uid ${uid}; RUN steps need root (rootless mode is not supported yet)`,
    fix: 'run tbuild as root (sudo tbuild ...) or inside a privileged CI container',
  });

  let storeOk = false;
  let storeDetail = '';
  try {
    await fs.mkdir(opts.root, { recursive: true });
    const probe = path.join(opts.root, `.doctor-${process.pid}`);
    await fs.writeFile(probe, 'ok');
    await fs.rm(probe);
    storeOk = true;
    storeDetail = `${opts.root} is writable`;
  } catch (e) {
    storeDetail = `${opts.root}: ${(e as Error).message}`;
  }
  checks.push({ name: 'store', ok: storeOk, detail: storeDetail, fix: 'pass --root DIR (or set TBUILD_ROOT) to a writable directory' });

  const dockerConfig = path.join(env.DOCKER_CONFIG ?? path.join(env.HOME ?? os.homedir(), '.docker'), 'config.json');
  const cfg = await fs.readFile(dockerConfig, 'utf8').then(
    (t) => {
      try {
        JSON.parse(t);
        return { ok: true, detail: `${dockerConfig} readable` };
      } catch {
        return { ok: false, detail: `${dockerConfig} is not valid JSON` };
      }
    },
    (e: NodeJS.ErrnoException) =>
      e.code === 'ENOENT' ? { ok: true, detail: `no ${dockerConfig}: anonymous registry access` } : { ok: false, detail: `${dockerConfig}: ${e.message}` },
  );
  checks.push({ name: 'registry credentials', ...cfg, fix: 'fix or remove the file; `docker login` writes it' });
  return checks;
}
