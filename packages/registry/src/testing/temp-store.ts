import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BlobStore } from '../store-port.ts';

/**
 * TEMPORARY stand-in for @tbuild/cache's Store while that package is being written; tests
 * switch to the real Store once it exports one. Same contract as BlobStore documents.
 */
export function tempStore(): BlobStore & { root: string; cleanup(): void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tbuild-regstore-'));
  fs.mkdirSync(path.join(root, 'blobs'));
  const refs = new Map<string, string>();
  const blobPath = (d: string): string => path.join(root, 'blobs', d.replace(':', '-'));
  const writer = () => {
    const tmp = path.join(root, randomUUID());
    const fd = fs.openSync(tmp, 'w');
    const hash = createHash('sha256');
    let size = 0;
    return {
      async write(c: Uint8Array) {
        hash.update(c);
        size += c.length;
        fs.writeSync(fd, c);
      },
      async commit(expected?: { digest?: string; size?: number }) {
        fs.closeSync(fd);
        const digest = 'sha256:' + hash.digest('hex');
        if ((expected?.digest && expected.digest !== digest) || (expected?.size !== undefined && expected.size !== size)) {
          fs.rmSync(tmp);
          throw new Error('digest mismatch');
        }
        fs.renameSync(tmp, blobPath(digest));
        return { digest, size };
      },
      async abort() {
        try {
          fs.closeSync(fd);
        } catch {
          /* already closed */
        }
        fs.rmSync(tmp, { force: true });
      },
    };
  };
  return {
    root,
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
    hasBlob: (d) => fs.existsSync(blobPath(d)),
    blobPath,
    readBlob: async (d) => fs.readFileSync(blobPath(d)),
    async writeBlob(data, expected) {
      const w = writer();
      if (typeof data === 'string' || Buffer.isBuffer(data)) await w.write(Buffer.from(data));
      else for await (const c of data) await w.write(c);
      return w.commit(expected);
    },
    blobWriter: writer,
    getRef: async (n) => refs.get(n),
    setRef: async (n, d) => void refs.set(n, d),
    deleteRef: async (n) => void refs.delete(n),
    listRefs: async () => [...refs].map(([name, digest]) => ({ name, digest })),
  };
}
