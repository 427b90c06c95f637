import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { BuildError } from '@tbuild/errors';
import { cacheError } from '../errors.ts';
import { decompress } from './decompress.ts';
import { Extraction } from './extraction.ts';
import { DEFAULT_LIMITS, type ExtractOptions, type ExtractStats } from './options.ts';
import { createTarReader, type TarReader } from './tar-reader.ts';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function waitDrain(tar: TarReader): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: unknown): void => {
      tar.off('drain', onDrain);
      tar.off('close', onClose);
      tar.off('error', onClose);
      if (err) reject(err instanceof Error ? err : new Error('tar reader closed'));
      else resolve();
    };
    const onDrain = (): void => done();
    const onClose = (e?: unknown): void => done(e ?? new Error('tar reader closed'));
    tar.on('drain', onDrain);
    tar.on('close', onClose);
    tar.on('error', onClose);
  });
}

/** Errors of the archive itself (bad headers, truncation) are the user's; I/O errors the host's. */
function asBuildError(e: unknown): unknown {
  if (e instanceof BuildError) return e;
  if (!(e instanceof Error)) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code && /^E[A-Z]+$/.test(code)) {
    return cacheError('TB_CACHE_IO', `extracting layer: ${e.message}`, { cause: e });
  }
  if (/tar|header|Unexpected end of data/i.test(e.message)) {
    return cacheError('TB_CACHE_LAYER_INVALID', `not a valid tar archive: ${e.message}`, { cause: e });
  }
  return e;
}

/**
 * The safe extractor for untrusted archives (base layers, ADD x.tar). Reads the stream once:
 * decompresses in-process, hashes the uncompressed bytes (the diffID), parses with tar-stream
 * and writes every entry with root-confined, no-follow operations under `destDir` (see
 * Extraction and resolveInRoot). Throws BuildError TB_CACHE_LAYER_INVALID /
 * TB_CACHE_BUDGET_EXCEEDED / TB_CACHE_DIFFID_MISMATCH for hostile or broken input; what was
 * written under `destDir` before the error stays there, so callers extract into a scratch
 * directory and discard it on failure. Nothing outside `destDir` is ever written, provided
 * nothing else writes below `destDir` while this runs (Node.js has no openat: a concurrent
 * writer swapping a directory for a symlink could race the path-based writes). So ADD must
 * extract into a private staging dir (e.g. Store.makeTempDir()), never a live container rootfs.
 */
export async function extractTar(input: AsyncIterable<Uint8Array> | NodeJS.ReadableStream, destDir: string, opts: ExtractOptions = {}): Promise<ExtractStats> {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const root = await fs.realpath(destDir);
  const extraction = new Extraction({
    root,
    format: opts.format ?? 'overlay',
    limits,
    sameOwner: opts.sameOwner ?? isRoot,
    devices: opts.devices ?? (isRoot ? 'create' : 'skip'),
    clampDotDot: opts.aboveRoot === 'clamp',
  });
  const hash = createHash('sha256');
  let bytes = 0;
  const tar = createTarReader();
  const source = input as AsyncIterable<Uint8Array>;

  const feeding = (async () => {
    try {
      for await (const chunk of decompress(source, opts.compression ?? 'auto')) {
        bytes += chunk.length;
        if (bytes > limits.maxBytes) {
          throw cacheError('TB_CACHE_BUDGET_EXCEEDED', `archive expands to more than ${limits.maxBytes} bytes`, {
            hint: 'a decompression or padding bomb, or a layer larger than the configured budget',
          });
        }
        hash.update(chunk);
        if (!tar.write(chunk)) await waitDrain(tar);
      }
      tar.end();
    } catch (e) {
      tar.destroy(e instanceof Error ? e : new Error(String(e)));
      throw e;
    }
  })();
  feeding.catch(() => {});

  let failure: unknown;
  try {
    for await (const entry of tar) await extraction.apply(entry);
  } catch (e) {
    failure = e;
    tar.destroy();
  }
  try {
    await feeding;
  } catch (e) {
    // The feeder's own error (budget, corrupt gzip) is the root cause of the reader's failure;
    // a feeder that only noticed the reader closing says nothing new.
    if (failure === undefined || e instanceof BuildError) failure = e;
  }
  if (failure !== undefined) throw asBuildError(failure);
  try {
    await extraction.finish();
  } catch (e) {
    throw asBuildError(e);
  }

  const diffId = `sha256:${hash.digest('hex')}`;
  if (opts.expectedDiffId !== undefined && opts.expectedDiffId !== diffId) {
    throw cacheError('TB_CACHE_DIFFID_MISMATCH', `layer content hashes to ${diffId}, but the image config says ${opts.expectedDiffId}`);
  }
  return { diffId, bytes, ...extraction.stats };
}
