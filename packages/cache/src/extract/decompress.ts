import { once } from 'node:events';
import zlib from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import { cacheError } from '../errors.ts';

export type Compression = 'gzip' | 'zstd' | 'none';

/** Compression by magic bytes, the way docker's DecompressStream decides. */
export function sniffCompression(head: Uint8Array): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/** Media type → compression; unknown types are sniffed (the diffID check catches lies). */
export function compressionOfMediaType(mediaType: string): Compression | 'auto' {
  if (/\+gzip$|\.gzip$|tar\.gz$/.test(mediaType)) return 'gzip';
  if (/\+zstd$|\.zstd$/.test(mediaType)) return 'zstd';
  return 'auto';
}

async function* prepend(head: Uint8Array[], it: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield* head;
  for (;;) {
    const r = await it.next();
    if (r.done) return;
    yield r.value;
  }
}

/**
 * The uncompressed bytes of `src`, decompressed in-process (never by a host or image binary:
 * CVE-2014-9357, CVE-2026-41567). Output is pulled lazily, so a bomb costs only the bytes the
 * consumer accepts before its budget stops it.
 */
export async function* decompress(src: AsyncIterable<Uint8Array>, compression: Compression | 'auto'): AsyncGenerator<Uint8Array> {
  const it = src[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let have = 0;
  while (have < 4) {
    const r = await it.next();
    if (r.done) break;
    head.push(r.value);
    have += r.value.length;
  }
  const kind = compression === 'auto' ? sniffCompression(Buffer.concat(head)) : compression;
  const input = prepend(head, it);
  try {
    if (kind === 'gzip') yield* gunzip(input);
    else if (kind === 'zstd') yield* unzstd(input);
    else yield* input;
  } finally {
    await it.return?.();
  }
}

async function* gunzip(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const gz = zlib.createGunzip();
  let fed = 0;
  const feeding = (async () => {
    for await (const c of input) {
      fed += c.length;
      if (!gz.write(c)) await once(gz, 'drain');
    }
    gz.end();
  })();
  feeding.catch((e: unknown) => gz.destroy(e instanceof Error ? e : new Error(String(e))));
  try {
    for await (const chunk of gz) yield chunk as Buffer;
    await feeding;
  } catch (e) {
    throw cacheError('TB_CACHE_LAYER_INVALID', `corrupt gzip stream: ${(e as Error).message}`, { cause: e });
  } finally {
    gz.destroy();
  }
  // Node's gunzip silently drops bytes after the last member; a blob with a hidden tail is
  // not the layer its digest claims to describe.
  if (gz.bytesWritten !== fed) {
    throw cacheError('TB_CACHE_LAYER_INVALID', `trailing data after the gzip stream (${fed - gz.bytesWritten} bytes)`);
  }
}

// fzstd decodes synchronously and can emit many 128 KiB blocks per input byte run, so input is
// fed in small slices to keep the output produced between two budget checks bounded.
const ZSTD_SLICE = 1024;

async function* unzstd(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const native = (zlib as unknown as { createZstdDecompress?: () => zlib.Gunzip }).createZstdDecompress;
  if (native) {
    // Node >= 22.15 ships zstd in zlib; prefer it when present.
    const z = native();
    const feeding = (async () => {
      for await (const c of input) if (!z.write(c)) await once(z, 'drain');
      z.end();
    })();
    feeding.catch((e: unknown) => z.destroy(e instanceof Error ? e : new Error(String(e))));
    try {
      for await (const chunk of z) yield chunk as Buffer;
      await feeding;
    } catch (e) {
      throw cacheError('TB_CACHE_LAYER_INVALID', `corrupt zstd stream: ${(e as Error).message}`, { cause: e });
    } finally {
      z.destroy();
    }
    return;
  }
  const out: Buffer[] = [];
  // fzstd may reuse its window buffer for later blocks: copy what it hands out.
  const d = new ZstdDecompress((chunk) => {
    out.push(Buffer.from(chunk));
  });
  const push = (c: Uint8Array, final: boolean): void => {
    try {
      d.push(c, final);
    } catch (e) {
      throw cacheError('TB_CACHE_LAYER_INVALID', `corrupt zstd stream: ${(e as Error).message}`, { cause: e });
    }
  };
  for await (const c of input) {
    for (let i = 0; i < c.length; i += ZSTD_SLICE) {
      push(c.subarray(i, i + ZSTD_SLICE), false);
      while (out.length) yield out.shift()!;
    }
  }
  push(new Uint8Array(0), true);
  while (out.length) yield out.shift()!;
}
