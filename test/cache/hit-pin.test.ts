import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Store } from '@tbuild/cache';
import { buildCacheHooks } from '../../packages/tbuild/src/api/cache/build-hooks.ts';
import type { PreparedBuild } from '../../packages/tbuild/src/api/prepare.ts';
import { tempDir } from '../support/root.ts';

// A build leases its inputs when it starts; a record another build writes later, and this build
// then hits, is outside that lease. Before the build uses such a hit it pins the layer, so a
// `cache prune --all` in between cannot remove the snapshot it is about to mount.
describe('pinning a cache hit found after the lease', () => {
  const t = tempDir('tbuild-pin-');
  afterAll(() => t.cleanup());

  /** A layer written now (before the build's `since`): a blob, its snapshot, and a step record. */
  async function layer(store: Store, name: string): Promise<{ digest: string; diffId: string }> {
    const w = store.blobWriter();
    await w.write(Buffer.from(`layer ${name}`));
    const { digest, size } = await w.commit();
    const diffId = `sha256:${crypto.createHash('sha256').update(name).digest('hex')}`;
    const dir = await store.makeTempDir();
    fs.writeFileSync(path.join(dir, name), name);
    await store.adoptSnapshot(diffId, dir);
    await store.putStep({ key: name.padEnd(64, '0'), layer: { digest, diffId, size, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }, created: new Date().toISOString(), lastUsed: new Date().toISOString(), hits: 0, size });
    return { digest, diffId };
  }

  it('keeps a pinned hit through prune --all, while an unpinned one goes', async () => {
    const store = await Store.open(path.join(t.dir, 'store'));
    const prepared = { store, plan: { stages: [], steps: [] }, file: { path: path.join(t.dir, 'Dockerfile'), text: '' } } as unknown as PreparedBuild;
    // The lease's `since` is later than the layers below: they are not this build's own writes.
    const hooks = await buildCacheHooks(prepared, { since: Date.now() + 10_000, stdin: false });
    const pinned = await layer(store, 'pinned');
    const loose = await layer(store, 'loose');
    expect(await hooks.pinHit(pinned)).toBe(false); // pinned just now: the caller looks again
    expect(await hooks.pinHit(pinned)).toBe(true);
    await store.gc({ all: true });
    expect(await store.hasBlob(pinned.digest)).toBe(true);
    expect(await store.hasSnapshot(pinned.diffId)).toBe(true);
    expect(await store.hasBlob(loose.digest)).toBe(false);
    expect(await store.hasSnapshot(loose.diffId)).toBe(false);
    await hooks.release();
    await store.gc({ all: true });
    expect(await store.hasBlob(pinned.digest)).toBe(false);
  });
});
