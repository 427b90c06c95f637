import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { extractTar } from '@tbuild/cache';
import { BuildError } from '@tbuild/errors';
import { mkdirAllInRoot } from '../copy/confined-path.ts';

type Compression = 'gzip' | 'bzip2' | 'xz' | 'none';

async function head(file: string, n: number): Promise<Buffer> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function compressionOf(magic: Buffer): Compression {
  if (magic[0] === 0x1f && magic[1] === 0x8b) return 'gzip';
  if (magic.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (magic.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  return 'none';
}

/** The file's bytes with gzip, bzip2 or xz undone (bzip2 and xz by Debian's own tools: Node has no decoder for them). */
function decompressed(file: string, c: Compression): Readable {
  const raw = fs.createReadStream(file);
  if (c === 'gzip') return raw.pipe(zlib.createGunzip());
  if (c === 'none') return raw;
  const child = spawn(c === 'bzip2' ? 'bzip2' : 'xz', ['-dc'], { stdio: ['pipe', 'pipe', 'ignore'] });
  raw.pipe(child.stdin);
  child.stdin.on('error', () => undefined);
  return child.stdout;
}

/** A local ADD source is unpacked when it is a tar, plain or compressed (BuildKit checks the tar header, not the file name). */
export async function isArchive(file: string): Promise<boolean> {
  const c = compressionOf(await head(file, 6));
  const stream = decompressed(file, c);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= 512) break;
    }
  } catch {
    return false;
  } finally {
    stream.destroy();
  }
  const block = Buffer.concat(chunks);
  return block.length >= 512 && block.subarray(257, 262).toString('latin1') === 'ustar';
}

/**
 * Extracts an archive into `dest` inside the rootfs with the store's safe, root-confined
 * extractor. `name` is the source as the user wrote it, for the error an unsafe archive gets.
 */
export async function extractArchiveInto(file: string, name: string, rootfs: string, dest: string, owner: { uid: number; gid: number }): Promise<void> {
  const dir = await mkdirAllInRoot(rootfs, dest, owner);
  const c = compressionOf(await head(file, 6));
  await extractTar(decompressed(file, c), dir, { format: 'plain', aboveRoot: 'clamp' }).catch((e: unknown) => {
    const d = e instanceof BuildError ? e.diagnostics[0] : undefined;
    if (d?.code !== 'TB_CACHE_LAYER_INVALID') throw e;
    throw new BuildError(
      { code: 'TB_EXEC_ADD_ARCHIVE', message: `ADD ${name}: ${d.message.replace(/^unsafe layer entry/, 'unsafe archive entry')}`, hint: 'ADD unpacks local tar archives; COPY the file instead to keep it as it is' },
      { cause: e },
    );
  });
}
