import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { BuildError } from '@tbuild/errors';
import { isDigest, sha256 } from '../digest.ts';
import { MAX_MANIFEST_BYTES, parseDocument } from '../documents.ts';
import { OCI_INDEX } from '../media-types.ts';
import type { BlobStore } from '../store-port.ts';
import type { Descriptor } from '../types.ts';
import type { UploadOutcome } from '../blob-upload.ts';
import { MAX_CACHE_CONFIG_BYTES, parseCacheConfig, type CacheConfig } from './cache-config.ts';
import { cacheHolder, encodeCacheIndex } from './cache-index.ts';
import type { CacheLocation } from './location.ts';

const REF_NAME = 'org.opencontainers.image.ref.name';

function invalid(message: string): BuildError {
  return new BuildError({ code: 'TB_CACHE_REMOTE_INVALID', message, hint: 're-export the cache with --cache-to type=local,dest=DIR' });
}

/**
 * A cache in an OCI image layout on a (shared) filesystem: `index.json` names each exported
 * cache index by tag, blobs live under `blobs/sha256/`. Files appear by rename, so concurrent
 * readers see whole files; every blob read is checked against its digest.
 */
export class LocalCacheLocation implements CacheLocation {
  readonly name: string;

  constructor(
    private readonly dir: string,
    private readonly tag: string,
  ) {
    this.name = `${dir} (tag ${tag})`;
  }

  private blobFile(digest: string): string {
    if (!isDigest(digest)) throw invalid(`cache ${this.name}: invalid digest ${JSON.stringify(digest).slice(0, 80)}`);
    return path.join(this.dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
  }

  private async readSmall(desc: Descriptor, max: number): Promise<Buffer> {
    if (desc.size > max) throw invalid(`cache ${this.name}: blob ${desc.digest} is ${desc.size} bytes (limit ${max})`);
    const bytes = await fs.readFile(this.blobFile(desc.digest)).catch((e: NodeJS.ErrnoException) => {
      throw invalid(`cache ${this.name}: cannot read blob ${desc.digest}: ${e.code ?? e.message}`);
    });
    if (sha256(bytes) !== desc.digest || bytes.length !== desc.size) {
      throw new BuildError({ code: 'TB_CACHE_DIGEST_MISMATCH', message: `cache ${this.name}: blob ${desc.digest} hashes to ${sha256(bytes)}`, hint: 'the shared cache directory was altered; re-export it' });
    }
    return bytes;
  }

  private async readIndexJson(): Promise<{ manifests: Descriptor[] } | undefined> {
    let raw: Buffer;
    try {
      raw = await fs.readFile(path.join(this.dir, 'index.json'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw invalid(`cache ${this.name}: cannot read index.json: ${(e as Error).message}`);
    }
    if (raw.length > MAX_MANIFEST_BYTES) throw invalid(`cache ${this.name}: index.json is larger than ${MAX_MANIFEST_BYTES} bytes`);
    const doc = parseDocument(raw, `cache ${this.name} index.json`);
    if (doc.kind !== 'index') throw invalid(`cache ${this.name}: index.json is not an OCI index`);
    return { manifests: doc.index.manifests };
  }

  async load(): Promise<CacheConfig | undefined> {
    const top = await this.readIndexJson();
    const entry = top?.manifests.find((m) => m.annotations?.[REF_NAME] === this.tag);
    if (!entry) return undefined;
    const doc = parseDocument(await this.readSmall(entry, MAX_MANIFEST_BYTES), `cache ${this.name} index ${entry.digest}`);
    const holder = cacheHolder(doc);
    if (holder.kind !== 'config') throw invalid(`cache ${this.name}: ${entry.digest} is not a tbuild cache index`);
    return parseCacheConfig(await this.readSmall(holder.desc, MAX_CACHE_CONFIG_BYTES), `cache ${this.name}`);
  }

  async fetchBlob(desc: Descriptor, store: BlobStore): Promise<void> {
    // The writer hashes while it copies and publishes nothing when digest or size differ.
    await store.writeBlob(createReadStream(this.blobFile(desc.digest)), { digest: desc.digest, size: desc.size }).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') throw invalid(`cache ${this.name}: blob ${desc.digest} is missing`);
      throw e;
    });
  }

  async hasBlob(digest: string): Promise<boolean> {
    const st = await fs.stat(this.blobFile(digest)).catch(() => undefined);
    return st?.isFile() ?? false;
  }

  async putBlob(desc: Descriptor, store: BlobStore): Promise<UploadOutcome> {
    const file = this.blobFile(desc.digest);
    const st = await fs.stat(file).catch(() => undefined);
    if (st?.isFile() && st.size === desc.size) return 'exists';
    await fs.mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${randomUUID()}`;
    try {
      await fs.copyFile(store.blobPath(desc.digest), tmp);
      await fs.rename(tmp, file);
    } finally {
      await fs.rm(tmp, { force: true });
    }
    return 'uploaded';
  }

  private async writeFile(file: string, data: Buffer | string): Promise<void> {
    await fs.mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${randomUUID()}`;
    try {
      await fs.writeFile(tmp, data);
      await fs.rename(tmp, file);
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  async save(config: CacheConfig): Promise<{ digest: string }> {
    const enc = encodeCacheIndex(config);
    await this.writeFile(this.blobFile(enc.configDesc.digest), enc.configBytes);
    await this.writeFile(this.blobFile(enc.indexDigest), enc.indexBytes);
    await this.writeFile(path.join(this.dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    const others = ((await this.readIndexJson().catch(() => undefined))?.manifests ?? []).filter((m) => m.annotations?.[REF_NAME] !== this.tag);
    const entry: Descriptor = { mediaType: OCI_INDEX, digest: enc.indexDigest, size: enc.indexBytes.length, annotations: { [REF_NAME]: this.tag } };
    await this.writeFile(path.join(this.dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...others, entry] }));
    return { digest: enc.indexDigest };
  }
}
