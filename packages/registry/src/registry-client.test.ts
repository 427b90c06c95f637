import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { busyboxImage, haveRegistry, startRegistry, type TestRegistry } from '../../../test/support/services.ts';
import { getImage, tagImage } from './image-store.ts';
import { RegistryClient } from './registry-client.ts';
import { startProxy } from './testing/http-proxy.ts';
import { openTestStore } from './testing/store.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
async function store() {
  const s = await openTestStore();
  cleanups.push(() => s.cleanup());
  return s;
}
const anonymous = { credentials: async () => undefined };

describe.skipIf(!haveRegistry())('RegistryClient against a real registry (docker-registry)', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('pushes an image and pulls it back with identical digests and config', async () => {
    const a = await store();
    const base = await busyboxImage(a);
    const client = new RegistryClient(anonymous);
    const pushed = await client.push(a, base.ref, `${reg.host}/base/busybox:1`);
    expect(pushed.digest).toBe(base.digest);
    expect(Object.values(pushed.blobs)).toEqual(['uploaded', 'uploaded']);

    const b = await store();
    const pulled = await new RegistryClient(anonymous).pull(b, `${reg.host}/base/busybox:1`);
    expect(pulled).toMatchObject({ digest: base.digest, configDigest: base.configDigest, config: base.config, ref: `${reg.host}/base/busybox:1` });
    expect((await getImage(b, `${reg.host}/base/busybox:1`)).digest).toBe(base.digest);
  });

  it('uploads no blob when the same image is pushed twice, and mounts across repositories', async () => {
    const a = await store();
    const base = await busyboxImage(a, 'twice:1');
    const proxy = await startProxy(reg.host);
    cleanups.push(() => proxy.close());
    const client = new RegistryClient(anonymous);
    await client.push(a, base.ref, `${proxy.host}/twice/app:1`);
    const uploads = (): number => proxy.seen.filter((r) => r.method === 'PATCH' || (r.method === 'PUT' && r.url.includes('/blobs/'))).length;
    expect(uploads()).toBe(2);
    proxy.seen.length = 0;

    const again = await new RegistryClient(anonymous).push(a, base.ref, `${proxy.host}/twice/app:1`);
    expect(Object.values(again.blobs)).toEqual(['exists', 'exists']);
    expect(uploads()).toBe(0);
    expect(proxy.seen.filter((r) => r.method === 'POST')).toEqual([]);

    proxy.seen.length = 0;
    const mounted = await client.push(a, base.ref, `${proxy.host}/other/app:1`);
    expect(Object.values(mounted.blobs)).toEqual(['mounted', 'mounted']);
    expect(proxy.seen.filter((r) => r.method === 'POST').map((r) => r.url)).toEqual([
      expect.stringMatching(/^\/v2\/other\/app\/blobs\/uploads\/\?mount=sha256%3A[a-f0-9]{64}&from=twice%2Fapp$/),
      expect.stringMatching(/mount=/),
    ]);
    expect(uploads()).toBe(0);
  });

  it('pushes large blobs in chunks (PATCH) and the result pulls back intact', async () => {
    const a = await store();
    const base = await busyboxImage(a, 'chunky:1');
    const proxy = await startProxy(reg.host);
    cleanups.push(() => proxy.close());
    await new RegistryClient({ ...anonymous, chunkSize: 256 * 1024 }).push(a, base.ref, `${proxy.host}/chunky/app:1`);
    const layerSize = (await getImage(a, base.ref)).manifest.layers[0]!.size;
    expect(proxy.seen.filter((r) => r.method === 'PATCH').length).toBe(Math.ceil(layerSize / (256 * 1024)));
    const pulled = await new RegistryClient(anonymous).pull(await store(), `${reg.host}/chunky/app:1`);
    expect(pulled.digest).toBe(base.digest);
  });

  it('rejects a blob the registry serves with different content (tampered storage)', async () => {
    const a = await store();
    const base = await busyboxImage(a, 'tamper:1');
    await new RegistryClient(anonymous).push(a, base.ref, `${reg.host}/tamper/app:1`);
    const layer = (await getImage(a, base.ref)).manifest.layers[0]!.digest.slice(7);
    const data = path.join(reg.root, 'docker/registry/v2/blobs/sha256', layer.slice(0, 2), layer, 'data');
    const bytes = fs.readFileSync(data);
    const mid = bytes.length >> 1;
    bytes[mid] = bytes[mid]! ^ 0xff;
    fs.writeFileSync(data, bytes);
    try {
      const b = await store();
      await expect(new RegistryClient(anonymous).pull(b, `${reg.host}/tamper/app:1`)).rejects.toMatchObject({
        code: 'TB_REGISTRY_DIGEST_MISMATCH',
        message: expect.stringContaining(`registry ${reg.host}, repository tamper/app`),
      });
      expect(await b.hasBlob(`sha256:${layer}`)).toBe(false);
      expect(await b.getRef(`image:${reg.host}/tamper/app:1`)).toBeUndefined();
    } finally {
      bytes[mid] = bytes[mid]! ^ 0xff;
      fs.writeFileSync(data, bytes);
    }
  });

  it('names registry, repository and status in errors', async () => {
    await expect(new RegistryClient(anonymous).pull(await store(), `${reg.host}/nope/missing:1`)).rejects.toMatchObject({
      code: 'TB_REGISTRY_NOT_FOUND',
      message: expect.stringMatching(new RegExp(`^registry ${reg.host}, repository nope/missing: GET manifest "1" answered 404 Not Found \\(MANIFEST_UNKNOWN`)),
    });
  });

  it('keeps a local tag when pushing under another name', async () => {
    const a = await store();
    const base = await busyboxImage(a, 'local:1');
    await tagImage(a, base.ref, `${reg.host}/tagged/app:2`);
    const r = await new RegistryClient(anonymous).push(a, `${reg.host}/tagged/app:2`);
    expect(r.ref).toBe(`${reg.host}/tagged/app:2`);
  });
});
