import { registryError } from './errors.ts';
import { findImage } from './image-store.ts';
import { formatPlatform, hostPlatform, platformMatches } from './platform.ts';
import { normalizeRef } from './reference.ts';
import type { RegistryClient } from './registry-client.ts';
import type { BlobStore } from './store-port.ts';
import type { ImageConfig, Platform } from './types.ts';

/** A base image resolved for the planner: normalized name, manifest digest and config. */
export interface ResolvedImage {
  ref: string;
  digest: string;
  config: ImageConfig;
}

/**
 * Resolves FROM references for the planner. `pull`: 'missing' uses a local image whose
 * platform fits and pulls otherwise; 'always' asks the registry every time (the tag may have
 * moved); 'never' uses only the local store. Calls for the same ref and platform share one pull.
 */
export interface ImageResolver {
  resolve(ref: string, platform?: Platform): Promise<ResolvedImage>;
}

/** When the resolver may contact the registry (Docker's --pull values). */
export type PullPolicy = 'missing' | 'always' | 'never';

export function createImageResolver(opts: { store: BlobStore; client: RegistryClient; pull?: PullPolicy }): ImageResolver {
  const policy = opts.pull ?? 'missing';
  const inflight = new Map<string, Promise<ResolvedImage>>();
  const resolveOnce = async (ref: string, platform: Platform): Promise<ResolvedImage> => {
    const name = normalizeRef(ref);
    if (policy !== 'always') {
      const local = await findImage(opts.store, name, platform).catch((e: unknown) => {
        if ((e as { code?: string }).code === 'TB_REGISTRY_NO_PLATFORM') return undefined;
        throw e;
      });
      if (local && platformMatches(platform, { os: local.config.os, architecture: local.config.architecture, ...(local.config.variant ? { variant: local.config.variant } : {}) })) {
        return { ref: name, digest: local.digest, config: local.config };
      }
      if (policy === 'never') {
        throw registryError('TB_REGISTRY_IMAGE_NOT_FOUND', `image "${ref}" for ${formatPlatform(platform)} is not in the local store and pulling is disabled`, {
          hint: 'pull it first, or allow pulls (--pull=missing)',
        });
      }
    }
    const pulled = await opts.client.pull(opts.store, name, platform);
    return { ref: name, digest: pulled.digest, config: pulled.config };
  };
  return {
    resolve(ref, platform = hostPlatform()) {
      const key = `${ref}\n${formatPlatform(platform)}`;
      let p = inflight.get(key);
      if (!p) {
        p = resolveOnce(ref, platform);
        inflight.set(key, p);
        p.catch(() => inflight.delete(key));
      }
      return p;
    },
  };
}
