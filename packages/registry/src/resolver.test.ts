import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxImage, haveRegistry, startRegistry, type TestRegistry } from '../../../test/support/services.ts';
import { removeImage } from './image-store.ts';
import { RegistryClient } from './registry-client.ts';
import { createImageResolver } from './resolver.ts';
import { startProxy } from './testing/http-proxy.ts';
import { openTestStore } from './testing/store.ts';

const anonymous = { credentials: async () => undefined };

describe.skipIf(!haveRegistry())('createImageResolver', () => {
  let reg: TestRegistry;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  let store: Awaited<ReturnType<typeof openTestStore>>;
  let digest = '';
  let ref = '';
  beforeAll(async () => {
    reg = await startRegistry();
    store = await openTestStore();
    proxy = await startProxy(reg.host);
    const base = await busyboxImage(store, 'resolve-me:1');
    digest = base.digest;
    ref = `${proxy.host}/base/busybox:1`;
    await new RegistryClient(anonymous).push(store, base.ref, ref);
    await removeImage(store, ref).catch(() => undefined);
  });
  afterAll(async () => {
    await proxy?.close();
    await reg?.stop();
    store?.cleanup();
  });
  const manifestGets = (): number => proxy.seen.filter((s) => s.method === 'GET' && s.url.includes('/manifests/')).length;

  it("'never' refuses an image that is not local", async () => {
    const r = createImageResolver({ store, client: new RegistryClient(anonymous), pull: 'never' });
    await expect(r.resolve(ref)).rejects.toMatchObject({ code: 'TB_REGISTRY_IMAGE_NOT_FOUND' });
  });

  it("'missing' pulls once, then answers from the store", async () => {
    const before = manifestGets();
    const r = createImageResolver({ store, client: new RegistryClient(anonymous), pull: 'missing' });
    const [a, b] = await Promise.all([r.resolve(ref), r.resolve(ref)]);
    expect(a).toEqual(b);
    expect(a).toMatchObject({ ref, digest });
    expect(manifestGets()).toBe(before + 1);
    const again = createImageResolver({ store, client: new RegistryClient(anonymous), pull: 'missing' });
    expect((await again.resolve(ref)).digest).toBe(digest);
    expect((await again.resolve('resolve-me:1')).digest).toBe(digest);
    expect(manifestGets()).toBe(before + 1);
  });

  it("'always' asks the registry even when the image is local", async () => {
    const before = manifestGets();
    const r = createImageResolver({ store, client: new RegistryClient(anonymous), pull: 'always' });
    expect((await r.resolve(ref)).digest).toBe(digest);
    expect(manifestGets()).toBe(before + 1);
  });
});
