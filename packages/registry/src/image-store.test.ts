import { afterEach, describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { sha256 } from './digest.ts';
import { getImage, imageHistory, inspectImage, listImages, putImage, removeImage, tagImage } from './image-store.ts';
import { OCI_LAYER_GZIP } from './media-types.ts';
import { openTestStore } from './testing/store.ts';
import type { ImageConfig } from './types.ts';

const stores: { cleanup(): void }[] = [];
afterEach(() => stores.splice(0).forEach((s) => s.cleanup()));

async function sample() {
  const store = await openTestStore();
  stores.push(store);
  const raw = Buffer.from('pretend this is a tar');
  const layer = await store.writeBlob(gzipSync(raw));
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    created: '2024-01-01T00:00:00Z',
    config: { Env: ['PATH=/bin'], Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: [sha256(raw)] },
    history: [{ created_by: 'ADD x /' }, { created_by: 'CMD ["sh"]', empty_layer: true }],
  };
  const put = await putImage(store, { config, layers: [{ mediaType: OCI_LAYER_GZIP, ...layer }] });
  return { store, put, layer, config };
}

describe('image store', () => {
  it('stores canonical documents: the same image always has the same digest', async () => {
    const a = await sample();
    const b = await sample();
    expect(a.put.manifestDigest).toBe(b.put.manifestDigest);
    const img = await getImage(a.store, a.put.manifestDigest);
    expect(img.config).toEqual(a.config);
    expect(img.manifest.layers[0]!.digest).toBe(a.layer.digest);
    expect(sha256(img.manifestBytes)).toBe(a.put.manifestDigest);
  });

  it('tags, lists, inspects, shows history and untags', async () => {
    const { store, put, layer } = await sample();
    expect(await tagImage(store, put.manifestDigest, 'app')).toBe('docker.io/library/app:latest');
    await tagImage(store, 'app', '127.0.0.1:5000/team/app:1');
    expect((await getImage(store, 'app:latest')).digest).toBe(put.manifestDigest);
    expect((await getImage(store, put.configDigest)).digest).toBe(put.manifestDigest);
    const list = await listImages(store);
    expect(list).toEqual([
      { digest: put.manifestDigest, id: put.configDigest, tags: ['127.0.0.1:5000/team/app:1', 'docker.io/library/app:latest'], created: '2024-01-01T00:00:00Z', size: layer.size },
    ]);
    const inspect = await inspectImage(store, 'app');
    expect(inspect).toMatchObject({ Id: put.configDigest, RepoTags: ['127.0.0.1:5000/team/app:1', 'app:latest'], Os: 'linux', Architecture: 'amd64' });
    const history = await imageHistory(store, 'app');
    expect(history.map((h) => [h.createdBy, h.size, h.id])).toEqual([
      ['CMD ["sh"]', 0, put.manifestDigest],
      ['ADD x /', layer.size, '<missing>'],
    ]);
    expect(await removeImage(store, 'app')).toEqual(['docker.io/library/app:latest']);
    await expect(getImage(store, 'app')).rejects.toMatchObject({ code: 'TB_REGISTRY_IMAGE_NOT_FOUND' });
    expect(await removeImage(store, put.manifestDigest)).toEqual(['127.0.0.1:5000/team/app:1']);
    expect(await listImages(store)).toEqual([]);
  });
});
