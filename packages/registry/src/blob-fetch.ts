import { createHash } from 'node:crypto';
import { isBuildError } from '@tbuild/errors';
import { registryError, where } from './errors.ts';
import { discard } from './http.ts';
import type { RegistryClient } from './registry-client.ts';
import { pullScope, type RepoContext } from './scopes.ts';
import type { BlobStore } from './store-port.ts';
import type { Descriptor } from './types.ts';

const MAX_RESUMES = 3;

/**
 * Streams a blob into the store, hashing as it goes. A connection dropped mid-body is resumed
 * with `Range: bytes=N-` (or restarted when the registry ignores Range). A body larger than the
 * descriptor, or one that hashes differently, is discarded and reported (security.md #17).
 * Redirects to blob storage are followed without the Authorization header.
 */
export async function fetchBlob(client: RegistryClient, ctx: RepoContext, desc: Descriptor, store: BlobStore): Promise<void> {
  const op = `GET blob ${desc.digest}`;
  const url = client.repoUrl(ctx, `blobs/${desc.digest}`);
  let w = store.blobWriter();
  let hash = createHash('sha256');
  let n = 0;
  try {
    for (let attempt = 0; ; attempt++) {
      const res = await client.request(ctx, { method: 'GET', url, ...(n > 0 ? { headers: { range: `bytes=${n}-` } } : {}) }, [pullScope(ctx)]);
      if (n > 0 && res.status === 200) {
        // The registry ignored Range: start over with this full body.
        await w.abort();
        w = store.blobWriter();
        hash = createHash('sha256');
        n = 0;
      } else if (res.status !== (n > 0 ? 206 : 200)) {
        throw await client.failure(ctx, res, op);
      }
      try {
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          n += chunk.length;
          if (n > desc.size) {
            throw registryError('TB_REGISTRY_DIGEST_MISMATCH', `${where(ctx.registry, ctx.repository)}: blob ${desc.digest} is larger than its descriptor says (${desc.size} bytes)`);
          }
          hash.update(chunk);
          await w.write(chunk);
          client.onProgress?.({ registry: ctx.registry, repository: ctx.repository, digest: desc.digest, current: n, total: desc.size });
        }
        if (n < desc.size && attempt < MAX_RESUMES) continue;
        break;
      } catch (e) {
        res.body.destroy();
        await discard(res).catch(() => undefined);
        if (isBuildError(e) || attempt >= MAX_RESUMES) throw e;
      }
    }
    const got = 'sha256:' + hash.digest('hex');
    if (got !== desc.digest || n !== desc.size) {
      throw registryError('TB_REGISTRY_DIGEST_MISMATCH', `${where(ctx.registry, ctx.repository)}: blob ${desc.digest} arrived with digest ${got} and ${n} bytes (expected ${desc.size})`, {
        hint: 'the registry or something between it and tbuild altered the content',
      });
    }
    await w.commit({ digest: desc.digest, size: desc.size });
  } catch (e) {
    await w.abort().catch(() => undefined);
    throw e;
  }
  client.remember(desc.digest, ctx);
}
