import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tbuild, THIN_CLIENT, type Entry } from '../support/cli.ts';
import { hasCommand, isRoot, NEEDS_ROOT, tempDir } from '../support/root.ts';
import { haveRegistry, startRegistry, type TestRegistry } from '../support/services.ts';

/** A host address tbuild does not treat as loopback, so it speaks HTTPS to a registry there. */
function hostAddress(): string | undefined {
  for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
    if (name.startsWith('tbuild') || name.startsWith('docker')) continue;
    const a = addrs?.find((x) => x.family === 'IPv4' && !x.internal);
    if (a) return a.address;
  }
  return undefined;
}

/** A CA, and a certificate it signed for `ip`: what a company's registry behind its own CA has. */
function makeCertificates(dir: string, ip: string): { ca: string; cert: string; key: string } {
  const f = (n: string): string => path.join(dir, n);
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=tbuild test CA', '-keyout', f('ca.key'), '-out', f('ca.pem'));
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${ip}`, '-keyout', f('server.key'), '-out', f('server.csr'));
  fs.writeFileSync(f('san.ext'), `subjectAltName=IP:${ip}\n`);
  ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f('san.ext'), '-out', f('server.pem'));
  return { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key') };
}

const address = hostAddress();
const entries: Entry[] = fs.existsSync(THIN_CLIENT) ? ['node', 'thin'] : ['node'];

describe.skipIf(!isRoot || !haveRegistry() || !hasCommand('openssl') || !address)(`a registry behind a private CA (${NEEDS_ROOT}; docker-registry, openssl, a non-loopback address)`, () => {
  const work = tempDir('tbuild-tls-');
  let registry: TestRegistry;
  let ca: string;
  // For `ADD https://…`, the other HTTPS client in tbuild.
  let files: https.Server;
  let filesUrl: string;

  beforeAll(async () => {
    const certs = makeCertificates(work.dir, address!);
    ca = certs.ca;
    registry = await startRegistry({ address, tls: certs });
    files = https.createServer({ cert: fs.readFileSync(certs.cert), key: fs.readFileSync(certs.key) }, (_req, res) => res.end('fetched over tls\n'));
    await new Promise<void>((r) => files.listen(0, address, r));
    filesUrl = `https://${address}:${(files.address() as net.AddressInfo).port}/remote.txt`;
  }, 60_000);

  afterAll(async () => {
    await registry?.stop();
    files?.close();
    work.cleanup();
  });

  it.each(entries)('pushes, pulls and ADDs over HTTPS trusting NODE_EXTRA_CA_CERTS, and refuses without it (%s)', async (entry) => {
    const root = path.join(work.dir, `store-${entry}`);
    const ctx = path.join(work.dir, `ctx-${entry}`);
    fs.mkdirSync(ctx);
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), `FROM scratch\nCOPY hello.txt /\nADD ${filesUrl} /remote.txt\n`);
    fs.writeFileSync(path.join(ctx, 'hello.txt'), `over tls via ${entry}\n`);
    const ref = `${registry.host}/tls/${entry}:1`;
    const trusting = { NODE_EXTRA_CA_CERTS: ca };

    const untrusted = await tbuild(['build', '--root', root, '-q', '--push', '-t', ref, ctx], { entry, env: { NODE_EXTRA_CA_CERTS: '' } });
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.stderr).toMatch(/certificate/);

    const pushed = await tbuild(['build', '--root', root, '-q', '--push', '-t', ref, ctx], { entry, env: trusting });
    expect(pushed.code, pushed.stderr).toBe(0);
    const fresh = path.join(work.dir, `fresh-${entry}`);
    const pulled = await tbuild(['pull', '--root', fresh, ref], { entry, env: trusting });
    expect(pulled.code, pulled.stderr).toBe(0);
    const out = path.join(work.dir, `out-${entry}`);
    const saved = await tbuild(['save', '--root', fresh, '-o', out + '.tar', ref], { entry });
    expect(saved.code, saved.stderr).toBe(0);
    fs.mkdirSync(out);
    execFileSync('tar', ['-xf', out + '.tar', '-C', out]);
    const index = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as Array<{ Layers: string[] }>;
    const layers = index[0]!.Layers.map((l) => path.join(out, l));
    expect(execFileSync('tar', ['-xOf', layers[0]!, 'hello.txt'], { encoding: 'utf8' })).toBe(`over tls via ${entry}\n`);
    expect(execFileSync('tar', ['-xOf', layers[1]!, 'remote.txt'], { encoding: 'utf8' })).toBe('fetched over tls\n');
  });

  // Node.js itself warns at start about an unreadable NODE_EXTRA_CA_CERTS; the thin client
  // hands the path to tbuild, which reads it at its first TLS connection instead.
  it.skipIf(!entries.includes('thin'))('reads a deferred CA file only when it connects: no start-up warning for a missing one', async () => {
    const missing = path.join(work.dir, 'no-such-ca.pem');
    const version = await tbuild(['version'], { entry: 'thin', env: { NODE_EXTRA_CA_CERTS: missing } });
    expect(version.code, version.stderr).toBe(0);
    expect(version.stderr).not.toContain('extra certs');
    const pull = await tbuild(['pull', '--root', path.join(work.dir, 'store-missing'), `${registry.host}/tls/thin:1`], { entry: 'thin', env: { NODE_EXTRA_CA_CERTS: missing } });
    expect(pull.code).not.toBe(0);
    expect(pull.stderr).toContain(`Ignoring extra certs from \`${missing}\``);
    expect(pull.stderr).toMatch(/certificate/);
  });
});
