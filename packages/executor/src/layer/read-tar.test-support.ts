import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import tar from 'tar-stream';

/** A member read back from a layer tar, for assertions. */
export interface ReadEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname?: string;
  pax?: Record<string, string>;
  data: string;
}

/** Reads a (possibly gzipped) tar with tar-stream's extractor: an independent check of the writer. */
export async function readTar(blob: Buffer): Promise<ReadEntry[]> {
  const raw = blob[0] === 0x1f && blob[1] === 0x8b ? zlib.gunzipSync(blob) : blob;
  const extract = tar.extract();
  const out: ReadEntry[] = [];
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      const h = entry.header;
      out.push({
        name: h.name,
        type: h.type ?? 'file',
        mode: h.mode ?? 0,
        uid: h.uid ?? 0,
        gid: h.gid ?? 0,
        size: h.size ?? 0,
        mtime: Math.floor((h.mtime?.getTime() ?? 0) / 1000),
        ...(h.linkname ? { linkname: h.linkname } : {}),
        ...(h.pax ? { pax: h.pax as Record<string, string> } : {}),
        data: Buffer.concat(chunks).toString('utf8'),
      });
    }
  })();
  Readable.from([raw]).pipe(extract);
  await done;
  return out;
}

/** Collects what a diff writes, through the promise-returning sink shape the store's blob writer has. */
export function memorySink(): { write(chunk: Uint8Array): Promise<void>; bytes(): Buffer } {
  const chunks: Buffer[] = [];
  return {
    async write(chunk) {
      chunks.push(Buffer.from(chunk));
    },
    bytes: () => Buffer.concat(chunks),
  };
}
