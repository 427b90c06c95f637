import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { busyboxImage, haveRegistry, startRegistry, type TestRegistry } from '../../../test/support/services.ts';
import { dockerConfigCredentials } from './credentials.ts';
import { RegistryClient } from './registry-client.ts';
import { startProxy, type SeenRequest } from './testing/http-proxy.ts';
import { openTestStore } from './testing/store.ts';

/** A tiny token service: Basic alice:s3cret gets a token for the scopes asked; huge=1 answers 2 MB. */
async function startAuth(): Promise<{ host: string; seen: SeenRequest[]; tokens: Map<string, string[]>; close(): Promise<void> }> {
  const seen: SeenRequest[] = [];
  const tokens = new Map<string, string[]>();
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.searchParams.get('service') === 'huge') return void res.end(JSON.stringify({ token: 'x'.repeat(2 << 20) }));
    if (req.headers.authorization !== 'Basic ' + Buffer.from('alice:s3cret').toString('base64')) return void res.writeHead(401).end('{}');
    const token = `tok-${tokens.size}`;
    tokens.set(token, url.searchParams.getAll('scope'));
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ token, expires_in: 300 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { host: `127.0.0.1:${(server.address() as net.AddressInfo).port}`, seen, tokens, close: () => new Promise((r) => server.close(() => r())) };
}

describe.skipIf(!haveRegistry())('token auth and redirects', () => {
  let reg: TestRegistry;
  let auth: Awaited<ReturnType<typeof startAuth>>;
  let blobHost: Awaited<ReturnType<typeof startProxy>>;
  let front: Awaited<ReturnType<typeof startProxy>>;
  let realm = '';
  let service = 'test-registry';
  let store: Awaited<ReturnType<typeof openTestStore>>;
  const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tbuild-dockercfg-'));

  beforeAll(async () => {
    reg = await startRegistry();
    store = await openTestStore();
    auth = await startAuth();
    realm = `http://${auth.host}/token`;
    // Object storage stand-in on another host (127.0.0.2): blob GETs are redirected there.
    blobHost = await startProxy(reg.host, { bind: '127.0.0.2' });
    front = await startProxy(reg.host, { intercept: (req, res) => {
      const repo = /^\/v2\/(.+?)\/(?:manifests|blobs)\//.exec(req.url ?? '')?.[1];
      if (!repo) return false;
      const write = req.method !== 'GET' && req.method !== 'HEAD';
      const need = `repository:${repo}:${write ? 'pull,push' : 'pull'}`;
      const granted = auth.tokens.get((req.headers.authorization ?? '').replace(/^Bearer /, '')) ?? [];
      const ok = granted.some((s) => s === need || (s === `repository:${repo}:pull,push`));
      if (!ok) {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="${service}",scope="${need}"`, 'content-type': 'application/json' });
        res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
        return true;
      }
      if (req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '')) {
        res.writeHead(307, { location: `http://${blobHost.host}${req.url}` }).end();
        return true;
      }
      return false;
    } });
    fs.writeFileSync(path.join(configDir, 'config.json'), JSON.stringify({ auths: { [front.host]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }));
  });
  afterAll(async () => {
    await front?.close();
    await blobHost?.close();
    await auth?.close();
    await reg?.stop();
    store?.cleanup();
    fs.rmSync(configDir, { recursive: true, force: true });
  });

  it('pushes and pulls with bearer tokens, and never sends Authorization to the redirected host', async () => {
    const base = await busyboxImage(store, 'authed:1');
    const client = new RegistryClient({ credentials: dockerConfigCredentials(path.join(configDir, 'config.json')) });
    await client.push(store, base.ref, `${front.host}/private/app:1`);
    const fresh = await openTestStore();
    try {
      const pulled = await new RegistryClient({ credentials: dockerConfigCredentials(path.join(configDir, 'config.json')) }).pull(fresh, `${front.host}/private/app:1`);
      expect(pulled.digest).toBe(base.digest);
    } finally {
      fresh.cleanup();
    }
    expect(auth.seen.length).toBeGreaterThan(0);
    expect(auth.seen.map((r) => new URL(r.url, 'http://x').searchParams.getAll('scope'))).toContainEqual(['repository:private/app:pull']);
    expect(front.seen.some((r) => r.headers.authorization?.startsWith('Bearer tok-'))).toBe(true);
    const redirected = blobHost.seen.filter((r) => r.url.includes('/blobs/'));
    expect(redirected.length).toBe(2);
    expect(redirected.map((r) => r.headers.authorization)).toEqual([undefined, undefined]);
  });

  it('fails with a one-line unauthorized error without credentials', async () => {
    const client = new RegistryClient({ credentials: async () => undefined });
    await expect(client.pull(store, `${front.host}/private/app:1`)).rejects.toMatchObject({
      code: 'TB_REGISTRY_UNAUTHORIZED',
      message: `registry ${front.host}, repository private/app: token endpoint ${auth.host} answered 401`,
    });
  });

  it('refuses a plain-http realm on a non-loopback host and an oversized token response', async () => {
    const creds = { credentials: async () => ({ username: 'alice', password: 's3cret' }) };
    realm = 'http://auth.example.com/token';
    await expect(new RegistryClient(creds).pull(store, `${front.host}/private/app:1`)).rejects.toMatchObject({ code: 'TB_REGISTRY_INSECURE_AUTH' });
    realm = `http://${auth.host}/token`;
    service = 'huge';
    await expect(new RegistryClient(creds).pull(store, `${front.host}/private/app:1`)).rejects.toMatchObject({ code: 'TB_REGISTRY_TOO_LARGE' });
    service = 'test-registry';
  });
});
