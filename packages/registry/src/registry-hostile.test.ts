import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { busyboxImage, haveRegistry, startRegistry, type TestRegistry } from '../../../test/support/services.ts';
import { getImage } from './image-store.ts';
import { OCI_INDEX } from './media-types.ts';
import { RegistryClient } from './registry-client.ts';
import { startProxy, type ProxyOptions } from './testing/http-proxy.ts';
import { openTestStore } from './testing/store.ts';

const anonymous = { credentials: async () => undefined };
const cleanups: (() => unknown)[] = [];
async function scratch() {
  const s = await openTestStore();
  cleanups.push(() => s.cleanup());
  return s;
}
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Drains a request body so the interceptor can answer without forwarding it. */
function drain(req: http.IncomingMessage): Promise<void> {
  return new Promise((r) => req.resume().on('end', r));
}

describe.skipIf(!haveRegistry())('a misbehaving registry (security.md 17, 18, 50-52)', () => {
  let reg: TestRegistry;
  let store: Awaited<ReturnType<typeof openTestStore>>;
  let ref = '';
  let manifestDigest = '';
  beforeAll(async () => {
    reg = await startRegistry();
    store = await openTestStore();
    const base = await busyboxImage(store, 'hostile:1');
    manifestDigest = base.digest;
    ref = `${reg.host}/hostile/app:1`;
    await new RegistryClient(anonymous).push(store, base.ref, ref);
  });
  afterAll(async () => {
    await reg?.stop();
    store?.cleanup();
  });
  const proxy = async (opts: ProxyOptions) => {
    const p = await startProxy(reg.host, opts);
    cleanups.push(() => p.close());
    return p;
  };

  it('uploads a blob whose HEAD answers 200 with a different Docker-Content-Digest', async () => {
    const p = await proxy({
      rewriteHeaders: (req, h) => {
        if (req.method === 'HEAD' && req.url?.includes('/blobs/')) h['docker-content-digest'] = 'sha256:' + '0'.repeat(64);
      },
    });
    const r = await new RegistryClient(anonymous).push(store, 'hostile:1', `${p.host}/hostile/app:1`);
    expect(Object.values(r.blobs)).toEqual(['uploaded', 'uploaded']);
  });

  it('finishes a chunked upload after a 416, following relative Locations as given', async () => {
    let patches = 0;
    const p = await proxy({
      intercept: async (req, res) => {
        if (req.method === 'PATCH' && ++patches === 2) {
          await drain(req);
          res.writeHead(416, { 'content-type': 'application/json' }).end('{"errors":[{"code":"BLOB_UPLOAD_INVALID"}]}');
          return true;
        }
        return false;
      },
      rewriteHeaders: (_req, h) => {
        if (h.location) h.location = new URL(h.location).pathname + new URL(h.location).search;
      },
    });
    const client = new RegistryClient({ ...anonymous, chunkSize: 300 * 1024 });
    const r = await client.push(store, 'hostile:1', `${p.host}/chunked/app:1`);
    expect(r.digest).toBe(manifestDigest);
    expect(p.seen.filter((s) => s.method === 'GET' && s.url.includes('/blobs/uploads/')).length).toBe(1);
    expect(p.seen.filter((s) => s.method === 'PATCH').every((s) => /_state=/.test(s.url))).toBe(true);
    const back = await openTestStore();
    cleanups.push(() => back.cleanup());
    expect((await new RegistryClient(anonymous).pull(back, `${reg.host}/chunked/app:1`)).digest).toBe(manifestDigest);
    expect((await getImage(back, `${reg.host}/chunked/app:1`)).manifest).toEqual((await getImage(store, 'hostile:1')).manifest);
  });

  it('rejects a manifest whose Docker-Content-Digest does not match its bytes', async () => {
    const p = await proxy({
      rewriteHeaders: (req, h) => {
        if (req.url?.includes('/manifests/')) h['docker-content-digest'] = 'sha256:' + '1'.repeat(64);
      },
    });
    await expect(new RegistryClient(anonymous).pull(await scratch(), `${p.host}/hostile/app:1`)).rejects.toMatchObject({ code: 'TB_REGISTRY_DIGEST_MISMATCH' });
  });

  it('rejects a manifest served with another media type (CVE-2021-41190)', async () => {
    const p = await proxy({
      rewriteHeaders: (req, h) => {
        if (req.url?.includes('/manifests/')) h['content-type'] = OCI_INDEX;
      },
    });
    await expect(new RegistryClient(anonymous).pull(await scratch(), `${p.host}/hostile/app:1`)).rejects.toThrow(/does not match Content-Type/);
  });

  it('refuses a manifest larger than 4 MiB without reading it all', async () => {
    const p = await proxy({
      intercept: (req, res) => {
        if (!req.url?.includes('/manifests/')) return false;
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
        const chunk = Buffer.alloc(1 << 20, 32);
        let sent = 0;
        const pump = (): void => {
          while (sent < 100 && res.write(chunk)) sent++;
          if (sent >= 100) res.end();
          else res.once('drain', pump);
        };
        res.on('error', () => undefined);
        pump();
        return true;
      },
    });
    await expect(new RegistryClient(anonymous).pull(await scratch(), `${p.host}/hostile/app:1`)).rejects.toMatchObject({ code: 'TB_REGISTRY_TOO_LARGE' });
  });

  it('resumes a blob download with Range after the connection drops, and retries after 429', async () => {
    let cut = 0;
    let limited = 0;
    const p = await proxy({
      intercept: async (req, res) => {
        if (req.method === 'GET' && req.url?.includes('/manifests/') && limited++ === 0) {
          res.writeHead(429, { 'retry-after': '1' }).end();
          return true;
        }
        if (req.method !== 'GET' || !req.url?.includes('/blobs/sha256:') || req.headers.range || cut++ > 0) return false;
        const body = await new Promise<Buffer>((resolve, reject) => {
          http.get(`http://${reg.host}${req.url}`, (up) => {
            const chunks: Buffer[] = [];
            up.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks))).on('error', reject);
          });
        });
        res.writeHead(200, { 'content-length': String(body.length), 'content-type': 'application/octet-stream' });
        res.write(body.subarray(0, body.length >> 1), () => res.socket?.destroy());
        return true;
      },
    });
    const progress: number[] = [];
    const client = new RegistryClient({ ...anonymous, concurrency: 1, onProgress: (e) => progress.push(e.current) });
    const pulled = await client.pull(await scratch(), `${p.host}/hostile/app:1`);
    expect(pulled.digest).toBe(manifestDigest);
    expect(limited).toBeGreaterThan(1);
    expect(p.seen.filter((r) => r.headers.range).map((r) => r.headers.range)).toEqual([expect.stringMatching(/^bytes=[1-9]\d*-$/)]);
    expect(Math.max(...progress)).toBe(Math.max(...pulled.manifest.layers.map((l) => l.size), pulled.manifest.config.size));
  });
});
