// The three builders behind one interface. "cold" means the same thing for each: the base image
// is already present locally (pulled outside the timed region) and the build cache is empty.
// A builder whose binaries are missing reports why and is skipped. Every timed build command
// runs under /usr/bin/time (for tbuild's peak memory), so its fork and exec, 5-10 ms on a slow
// machine, fall on every builder's time alike.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { adoptPid, run } from './proc.mjs';
import { startDockerd } from './services.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const TBUILD_BIN = path.join(repo, 'packages/tbuild/bin/tbuild.js');
// The command `tbuild` is once scripts/setup.sh has linked it: the thin client where `pnpm
// build` compiled it (it runs bin/tbuild.js for what a build server does not), else the script.
const THIN_CLIENT = path.join(repo, 'packages/tbuild/dist/tbuild-client');
const tbuildCommand = (args) => (fs.existsSync(THIN_CLIENT) ? [THIN_CLIENT, args] : [process.execPath, [TBUILD_BIN, ...args]]);

const tag = (w) => `bench/${w.name}:latest`;

/** Peak resident memory of a live process so far (VmHWM), in MB. */
function processPeakMb(pid) {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Contract of a benchmarked builder: `unavailable()` is a reason to skip or undefined; `setup`
 * then any number of `reset`(cold)/`build` calls, `save` exports the last image as a docker
 * archive for verification, `teardown` stops whatever `setup` started.
 *
 * `{ server: true }` is tbuild with its build server running (`tbuild server start`), started
 * after each reset as dockerd is before BuildKit's builds: the same CLI command sends the build to
 * it. Its peak memory is the larger of the client's and the server's (VmHWM since its start).
 */
export function tbuildBuilder(work, base, { server = false } = {}) {
  const name = server ? 'tbuild-server' : 'tbuild';
  const root = path.join(work, `${name}-store`);
  const timeFile = path.join(work, `${name}-time.txt`);
  const cli = (args, opts) => run(...tbuildCommand(args), opts);
  let serverPid;
  let releaseServer = () => {};
  const stopServer = async () => {
    if (server && fs.existsSync(root)) await cli(['server', 'stop', '--root', root], { check: false });
    releaseServer();
    serverPid = undefined;
  };
  return {
    name,
    note: [server && 'tbuild server running for the store', fs.existsSync(THIN_CLIENT) ? 'run as the thin client (dist/tbuild-client)' : 'run as node bin/tbuild.js'].filter(Boolean).join('; '),
    unavailable: () => (fs.existsSync(path.join(repo, 'packages/tbuild/dist/tbuild.cjs')) ? undefined : 'not built (pnpm build)'),
    async setup() {},
    async reset() {
      await stopServer();
      fs.rmSync(root, { recursive: true, force: true });
      await cli(['pull', '--root', root, base]);
      if (server) {
        const r = await cli(['server', 'start', '--root', root, '--idle-timeout', '0']);
        serverPid = Number(/pid (\d+)/.exec(r.stdout)?.[1]);
        if (serverPid) releaseServer = adoptPid(serverPid);
      }
    },
    async build(w) {
      // No network for RUN, as the peers get (tbuild's default is a bridge, which BuildKit's dockerd here lacks).
      const args = ['build', '--root', root, '--network', 'none', '-q', '-t', tag(w), w.dir];
      const r = await cli(args, { peakFile: timeFile });
      const client = r.peakMb;
      const serverPeak = serverPid ? processPeakMb(serverPid) : undefined;
      return { ms: r.ms, peakMb: serverPeak === undefined ? client : Math.max(client ?? 0, serverPeak) };
    },
    save: (w, archive) => cli(['save', '--root', root, '-o', archive, tag(w)]),
    async teardown() {
      await stopServer();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** BuildKit as docker.io's dockerd embeds it (DOCKER_BUILDKIT=1, Debian's 20.10 client). */
export function buildkitBuilder(work, base, registryHost) {
  let d;
  return {
    name: 'buildkit',
    unavailable() {
      if (process.getuid?.() !== 0) return 'dockerd needs root';
      if (!fs.existsSync('/usr/sbin/dockerd') || !fs.existsSync('/usr/bin/docker')) return 'dockerd or /usr/bin/docker missing (Debian docker.io)';
      return undefined;
    },
    async setup() {
      // Short path: the exec root holds unix sockets.
      d = await startDockerd(path.join(work, 'd'), registryHost);
      await d.docker(['pull', '-q', base]);
      const v = await d.docker(['version', '--format', '{{.Server.Version}}']);
      this.version = `dockerd ${v.stdout.trim()}`;
    },
    async reset() {
      const imgs = (await d.docker(['images', '-q', '--filter', 'reference=bench/*'])).stdout.split('\n').filter(Boolean);
      if (imgs.length) await d.docker(['rmi', '-f', ...new Set(imgs)]);
      await d.docker(['builder', 'prune', '-af']);
    },
    async build(w) {
      const r = await d.docker(['build', '--network', 'none', '-q', '-t', tag(w), w.dir], { peakFile: path.join(work, 'buildkit-time.txt') });
      return { ms: r.ms };
    },
    save: (w, archive) => d.docker(['save', '-o', archive, tag(w)]),
    async teardown() {
      await d?.stop();
    },
  };
}

/** Buildah with layer caching and runc, storage in a private root. */
export function buildahBuilder(work, base) {
  const root = path.join(work, 'buildah-root');
  const runroot = path.join(work, 'buildah-run');
  const ba = (args, opts) => run('/usr/bin/buildah', ['--root', root, '--runroot', runroot, '--storage-driver', 'overlay', ...args], opts);
  let isolation = 'oci';
  return {
    name: 'buildah',
    unavailable() {
      if (process.getuid?.() !== 0) return 'run as root for overlay storage';
      if (!fs.existsSync('/usr/bin/buildah')) return 'buildah missing';
      return undefined;
    },
    async setup() {
      this.version = (await ba(['--version'])).stdout.trim();
      await ba(['pull', '-q', '--tls-verify=false', base]);
      // OCI isolation needs namespaces runc may not get here; chroot is buildah's fallback.
      const probe = path.join(work, 'buildah-probe');
      fs.mkdirSync(probe, { recursive: true });
      fs.writeFileSync(path.join(probe, 'Dockerfile'), `FROM ${base}\nRUN true\n`);
      const r = await ba(['bud', '--network', 'none', '--runtime', 'runc', '--isolation', 'oci', '-q', probe], { check: false });
      if (r.code !== 0) isolation = 'chroot';
      this.note = `isolation ${isolation}`;
      await ba(['rmi', '--all', '-f'], { check: false });
      await ba(['pull', '-q', '--tls-verify=false', base]);
    },
    async reset() {
      await ba(['rmi', '--all', '-f'], { check: false });
      await ba(['pull', '-q', '--tls-verify=false', base]);
    },
    async build(w) {
      const r = await ba(['bud', '--layers', '--network', 'none', '--runtime', 'runc', '--isolation', isolation, '--tls-verify=false', '-q', '-t', tag(w), w.dir], { peakFile: path.join(work, 'buildah-time.txt') });
      return { ms: r.ms };
    },
    save: (w, archive) => ba(['push', '-q', tag(w), `docker-archive:${archive}:${tag(w)}`]),
    async teardown() {
      await ba(['rmi', '--all', '-f'], { check: false });
      await run('umount', ['-R', '-l', path.join(root, 'overlay')], { check: false });
      fs.rmSync(root, { recursive: true, force: true });
      fs.rmSync(runroot, { recursive: true, force: true });
    },
  };
}
