// The peers' shared infrastructure, all on loopback: a distribution registry on a free
// 127.0.0.1 port holding the busybox base image every builder starts FROM, and a private
// dockerd (its own data root and socket, no network setup) for BuildKit.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { run, startProc, stopProc } from './proc.mjs';

export const BASE_REPO = 'base/busybox';
export const BASE_TAG = '1';

/** `preferred` when it is free (a stable base reference lets generated contexts be reused), else any. */
function freePort(preferred = 0) {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', (e) => (preferred ? freePort(0).then(resolve, reject) : reject(e)));
    s.listen(preferred, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitUntil(what, proc, check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${what} exited early (${proc.exitCode})`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${what} did not come up within ${timeoutMs / 1000}s`);
}

/** Starts docker-registry on a free loopback port; resolves {host, stop()}. */
export async function startRegistry(dir) {
  const port = await freePort(5055);
  const host = `127.0.0.1:${port}`;
  fs.mkdirSync(dir, { recursive: true });
  const config = path.join(dir, 'config.yml');
  fs.writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: ${host}\n`,
  );
  const log = fs.openSync(path.join(dir, 'registry.log'), 'a');
  const proc = startProc('/usr/bin/docker-registry', ['serve', config], log);
  fs.closeSync(log);
  await waitUntil('docker-registry', proc, async () => (await fetch(`http://${host}/v2/`)).ok, 30_000);
  return { host, stop: () => stopProc(proc) };
}

const sha256 = (b) => 'sha256:' + createHash('sha256').update(b).digest('hex');

/**
 * Builds the busybox base image (the same rootfs as /work/shared/tools/reference-builders.sh)
 * and pushes it to the registry with plain HTTP calls, so no builder is needed to seed it.
 * Returns the reference every workload starts FROM.
 */
export async function pushBaseImage(host, workDir) {
  const rootfs = path.join(workDir, 'base-rootfs');
  fs.rmSync(rootfs, { recursive: true, force: true });
  for (const d of ['bin', 'tmp', 'etc', 'root']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin/busybox'));
  fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
  const applets = (await run('/bin/busybox', ['--list'])).stdout.split('\n').filter((a) => a && a !== 'busybox');
  for (const a of applets) fs.symlinkSync('busybox', path.join(rootfs, 'bin', a));
  fs.chmodSync(path.join(rootfs, 'tmp'), 0o1777);
  fs.writeFileSync(
    path.join(rootfs, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000:app:/home/app:/bin/sh\n',
  );
  fs.writeFileSync(path.join(rootfs, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\napp:x:1000:\n');
  const tarFile = path.join(workDir, 'base-layer.tar');
  await run('tar', ['--numeric-owner', '--owner=0', '--group=0', '--mtime=@0', '--sort=name', '-C', rootfs, '-cf', tarFile, '.']);
  fs.rmSync(rootfs, { recursive: true, force: true });
  const raw = fs.readFileSync(tarFile);
  fs.rmSync(tarFile);
  const { gzipSync } = await import('node:zlib');
  const gz = gzipSync(raw, { level: 6 });
  const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch] ?? process.arch;
  const config = Buffer.from(
    JSON.stringify({
      architecture: arch,
      os: 'linux',
      created: '1970-01-01T00:00:00Z',
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: [sha256(raw)] },
      history: [{ created: '1970-01-01T00:00:00Z', created_by: 'COPY rootfs/ / # tbuild bench busybox base' }],
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: sha256(gz), size: gz.length }],
    }),
  );
  for (const blob of [gz, config]) {
    const start = await fetch(`http://${host}/v2/${BASE_REPO}/blobs/uploads/`, { method: 'POST' });
    if (start.status !== 202) throw new Error(`registry upload start: HTTP ${start.status}`);
    const loc = new URL(start.headers.get('location'), `http://${host}`);
    loc.searchParams.set('digest', sha256(blob));
    const put = await fetch(loc, { method: 'PUT', body: blob, headers: { 'content-type': 'application/octet-stream' } });
    if (put.status !== 201) throw new Error(`registry blob put: HTTP ${put.status} ${await put.text()}`);
  }
  const res = await fetch(`http://${host}/v2/${BASE_REPO}/manifests/${BASE_TAG}`, {
    method: 'PUT',
    body: manifest,
    headers: { 'content-type': 'application/vnd.docker.distribution.manifest.v2+json' },
  });
  if (res.status !== 201) throw new Error(`registry manifest put: HTTP ${res.status} ${await res.text()}`);
  return `${host}/${BASE_REPO}:${BASE_TAG}`;
}

/**
 * Starts a private dockerd trusting `registry` over plain HTTP. Resolves {host, docker(args),
 * stop()} where docker runs Debian's 20.10 client (/usr/bin/docker) against it with BuildKit on.
 */
export async function startDockerd(dir, registry) {
  fs.mkdirSync(dir, { recursive: true });
  const sock = path.join(dir, 'docker.sock');
  const host = `unix://${sock}`;
  const log = fs.openSync(path.join(dir, 'dockerd.log'), 'a');
  const proc = startProc(
    '/usr/sbin/dockerd',
    [
      '--iptables=false',
      '--ip-masq=false',
      '--bridge=none',
      '--insecure-registry', registry,
      '--data-root', path.join(dir, 'data'),
      '--exec-root', path.join(dir, 'x'),
      '--pidfile', path.join(dir, 'dockerd.pid'),
      '-H', host,
    ],
    log,
  );
  fs.closeSync(log);
  const env = { ...process.env, DOCKER_BUILDKIT: '1', DOCKER_CONFIG: path.join(dir, 'client') };
  delete env.DOCKER_HOST;
  const docker = (args, opts = {}) => run('/usr/bin/docker', ['-H', host, ...args], { env, ...opts });
  await waitUntil('dockerd', proc, async () => (await docker(['info', '--format', '{{.ServerVersion}}'], { check: false })).code === 0, 60_000);
  return {
    host,
    docker,
    async stop() {
      await stopProc(proc, 30_000);
      const mounts = fs.readFileSync('/proc/self/mounts', 'utf8').split('\n');
      for (const line of mounts.reverse()) {
        const m = line.split(' ')[1];
        if (m?.startsWith(dir + '/')) await run('umount', ['-l', m], { check: false });
      }
    },
  };
}
