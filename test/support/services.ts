import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import tar from 'tar-stream';
import { hostPlatform, OCI_LAYER_GZIP, putImage, tagImage, type BlobStore, type ImageConfig } from '@tbuild/registry';
import { BUSYBOX_CONFIG, haveBusybox, makeBusyboxRootfs } from './busybox.ts';
import { hasCommand, isRoot } from './root.ts';

/**
 * Real peers on loopback for tests: a distribution registry (Debian's docker-registry), a
 * private dockerd, and a busybox base image in a tbuild store. Every process started here is
 * killed by its stop() and, as a last resort, when the test process exits.
 */

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function track(c: ChildProcess): ChildProcess {
  children.add(c);
  c.once('exit', () => children.delete(c));
  return c;
}

async function stopChild(c: ChildProcess, timeoutMs = 10_000): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill('SIGTERM');
  const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(t);
}

/**
 * An HTTP server on a free port of `host`: by default every host address, so RUN steps and
 * containers reach it through the bridge's gateway.
 */
export async function httpServerOn(handler: http.RequestListener | undefined, host = '0.0.0.0'): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { server, port: (server.address() as net.AddressInfo).port };
}

/** A free TCP port on `address` (released just before the caller binds it). */
export function freePort(address = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, address, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function httpStatus(url: string, ca?: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = (ca ? https : http).get(url, ca ? { ca } : {}, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(2000, () => req.destroy());
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, proc: ChildProcess, log: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${what} exited early (${proc.exitCode}):\n${readTail(log)}`);
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up within ${timeoutMs / 1000}s:\n${readTail(log)}`);
}

function readTail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '';
  }
}

/** A running registry: `host` is ADDRESS:PORT (plain HTTP unless started with TLS, no auth), `root` its storage dir. */
export interface TestRegistry {
  host: string;
  root: string;
  stop(): Promise<void>;
}

export const REGISTRY_BIN = '/usr/bin/docker-registry';
export const haveRegistry = (): boolean => fs.existsSync(REGISTRY_BIN);

/**
 * Starts a fresh registry with its own storage on a free port of `address` (default loopback);
 * with `tls`, it serves HTTPS with that certificate, and `tls.ca` is what it is checked against.
 */
export async function startRegistry(opts: { address?: string; tls?: { cert: string; key: string; ca: string } } = {}): Promise<TestRegistry> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tbuild-registry-'));
  const address = opts.address ?? '127.0.0.1';
  const port = await freePort(address);
  const host = `${address}:${port}`;
  const config = path.join(dir, 'config.yml');
  const tls = opts.tls ? ['  tls:', `    certificate: ${opts.tls.cert}`, `    key: ${opts.tls.key}`] : [];
  fs.writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${dir}/data`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: ${host}`,
      ...tls,
      '',
    ].join('\n'),
  );
  const log = path.join(dir, 'registry.log');
  const out = fs.openSync(log, 'a');
  const proc = track(spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', out, out] }));
  fs.closeSync(out);
  const ca = opts.tls && fs.readFileSync(opts.tls.ca);
  try {
    await waitFor('docker-registry', async () => (await httpStatus(`${ca ? 'https' : 'http'}://${host}/v2/`, ca)) === 200, proc, log);
  } catch (e) {
    await stopChild(proc);
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    host,
    root: path.join(dir, 'data'),
    async stop() {
      await stopChild(proc);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A private dockerd; `docker(args)` runs the matching 20.10 client against it. */
export interface TestDockerd {
  docker(args: string[], stdin?: Buffer): Promise<{ stdout: string; stderr: string; code: number }>;
  host: string;
  stop(): Promise<void>;
}

/** Why startDockerd would return undefined here, or undefined when it can run. */
export function dockerdUnavailable(): string | undefined {
  if (!isRoot) return 'dockerd needs root';
  if (!fs.existsSync('/usr/sbin/dockerd') || !fs.existsSync('/usr/bin/docker')) return 'dockerd or /usr/bin/docker not installed (Debian docker.io)';
  return undefined;
}

/**
 * Starts a dockerd with private data/exec roots and no network setup (no iptables, no
 * bridge), trusting `insecureRegistries` over plain HTTP. Returns undefined (with the reason
 * logged) when it cannot run here.
 */
export async function startDockerd(opts: { insecureRegistries?: string[] } = {}): Promise<TestDockerd | undefined> {
  const why = dockerdUnavailable();
  if (why) {
    console.warn(`startDockerd: ${why}`);
    return undefined;
  }
  // exec-root holds unix sockets: keep its path short.
  const dir = fs.mkdtempSync('/tmp/tbd-');
  const sock = path.join(dir, 'docker.sock');
  const host = `unix://${sock}`;
  const log = path.join(dir, 'dockerd.log');
  const out = fs.openSync(log, 'a');
  const args = [
    '--iptables=false',
    '--ip-masq=false',
    '--bridge=none',
    '--data-root', path.join(dir, 'data'),
    '--exec-root', path.join(dir, 'x'),
    '--pidfile', path.join(dir, 'dockerd.pid'),
    '-H', host,
    ...(opts.insecureRegistries ?? []).flatMap((r) => ['--insecure-registry', r]),
  ];
  const proc = track(spawn('/usr/sbin/dockerd', args, { stdio: ['ignore', out, out], detached: false }));
  fs.closeSync(out);
  const docker: TestDockerd['docker'] = (a, stdin) =>
    new Promise((resolve) => {
      const c = spawn('/usr/bin/docker', ['-H', host, ...a], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, DOCKER_CONFIG: path.join(dir, 'client') } });
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      c.on('close', (code) => resolve({ stdout, stderr, code: code ?? 1 }));
      c.on('error', (e) => resolve({ stdout, stderr: String(e), code: 127 }));
      c.stdin.end(stdin);
    });
  try {
    await waitFor('dockerd', async () => (await docker(['info', '--format', '{{.ServerVersion}}'])).code === 0, proc, log, 60_000);
  } catch (e) {
    console.warn(`startDockerd: ${(e as Error).message}`);
    await stopChild(proc, 20_000);
    fs.rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  return {
    docker,
    host,
    async stop() {
      await stopChild(proc, 20_000);
      // dockerd leaves overlay mounts behind only if killed hard; unmount anything left under dir.
      for (const line of fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').reverse()) {
        const mnt = line.split(' ')[1];
        if (mnt?.startsWith(dir + '/')) spawn('umount', ['-l', mnt]);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What busyboxImage stored. */
export interface BusyboxImage {
  ref: string;
  digest: string;
  configDigest: string;
  config: ImageConfig;
}

let busyboxLayer: { gz: Buffer; diffId: string } | undefined;

/**
 * Stores a busybox base image (one gzip layer made from makeBusyboxRootfs, the reference
 * config) in `store` and tags it `ref`. Deterministic: the same digest on every call.
 */
export async function busyboxImage(store: BlobStore, ref = 'busybox:latest'): Promise<BusyboxImage> {
  if (!haveBusybox()) throw new Error('busyboxImage needs /bin/busybox (Debian busybox-static)');
  busyboxLayer ??= await buildBusyboxLayer();
  const layer = await store.writeBlob(busyboxLayer.gz);
  const p = hostPlatform();
  const config: ImageConfig = {
    created: '1970-01-01T00:00:00Z',
    architecture: p.architecture,
    os: p.os,
    ...(p.variant ? { variant: p.variant } : {}),
    config: { Env: [...BUSYBOX_CONFIG.Env], Cmd: [...BUSYBOX_CONFIG.Cmd] },
    rootfs: { type: 'layers', diff_ids: [busyboxLayer.diffId] },
    history: [{ created: '1970-01-01T00:00:00Z', created_by: 'COPY rootfs/ / # tbuild test busybox base' }],
  };
  const put = await putImage(store, { config, layers: [{ mediaType: OCI_LAYER_GZIP, digest: layer.digest, size: layer.size }] });
  const name = await tagImage(store, put.manifestDigest, ref);
  return { ref: name, digest: put.manifestDigest, configDigest: put.configDigest, config };
}

async function buildBusyboxLayer(): Promise<{ gz: Buffer; diffId: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tbuild-busybox-'));
  try {
    makeBusyboxRootfs(dir);
    const pack = tar.pack();
    const chunks: Buffer[] = [];
    pack.on('data', (c: unknown) => {
      chunks.push(c as Buffer);
    });
    const ended = new Promise<void>((r, j) => pack.on('end', r).on('error', j));
    const walk = async (rel: string): Promise<void> => {
      for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
        const r = rel ? `${rel}/${name}` : name;
        const st = fs.lstatSync(path.join(dir, r));
        const base = { mode: st.mode & 0o7777, uid: 0, gid: 0, mtime: new Date(0) };
        if (st.isDirectory()) {
          await entry(pack, { ...base, name: r + '/', type: 'directory' });
          await walk(r);
        } else if (st.isSymbolicLink()) {
          await entry(pack, { ...base, name: r, type: 'symlink', linkname: fs.readlinkSync(path.join(dir, r)) });
        } else {
          await entry(pack, { ...base, name: r, type: 'file', size: st.size }, fs.readFileSync(path.join(dir, r)));
        }
      }
    };
    await walk('');
    pack.finalize();
    await ended;
    const raw = Buffer.concat(chunks);
    return { gz: zlib.gzipSync(raw, { level: 6 }), diffId: 'sha256:' + createHash('sha256').update(raw).digest('hex') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function entry(pack: tar.Pack, header: Partial<tar.Header> & { name: string }, data?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const cb = (e?: Error | null): void => (e ? reject(e) : resolve());
    if (data) pack.entry(header, data, cb);
    else pack.entry(header, cb);
  });
}

export { hasCommand };
