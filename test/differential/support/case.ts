import fs from 'node:fs';
import path from 'node:path';
import tar from 'tar-stream';

/** A context file: text content, or a spec with mode, a symlink target, a dir or a tar archive. */
export type FileSpec =
  | string
  | { content: string | Buffer; mode?: number; uid?: number; gid?: number; /** seconds since the epoch, may be negative */ mtime?: number }
  | { fifo: true }
  /** A static executable built by gcc from this C source (a path relative to this directory). */
  | { compile: string }
  | { symlink: string }
  /** A hard link to another context file, written before it. */
  | { hardlink: string }
  | { dir: true; mode?: number }
  | { tar: Array<{ name: string; type?: 'file' | 'directory' | 'symlink' | 'link'; content?: string; mode?: number; uid?: number; gid?: number; linkname?: string }>; compress?: 'gzip' | 'bzip2' | 'xz' };

/**
 * One differential case: a Dockerfile (`{{BASE}}` stands for the shared busybox base image in
 * the test registry), its context, and flags both builders get. Each case is built by tbuild
 * and by BuildKit and the two images must agree.
 */
export interface DiffCase {
  name: string;
  dockerfile: string;
  files?: Record<string, FileSpec>;
  /** Build args (`--build-arg K=V`) for both builders. */
  buildArgs?: Record<string, string>;
  target?: string;
  /** Secret files: id → content, passed as `--secret id=ID,src=FILE`. */
  secrets?: Record<string, string>;
  /** Mount targets BuildKit 20.10 leaves as empty directories (docs/differences.md, "mount stubs"). */
  mountStubs?: string[];
  /** Both builders must reject this Dockerfile (tbuild with a TB_ code and no stack trace). */
  expectError?: RegExp;
  /** Paths whose mtimes must agree too (mtimes are otherwise not compared). */
  mtimes?: string[];
  /** Whether to compare history too (default true). */
  history?: boolean;
}

async function tarBuffer(entries: Extract<FileSpec, { tar: unknown }>['tar']): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const ended = new Promise<void>((r) => pack.on('end', r));
  for (const e of entries) {
    const header = { name: e.name, type: e.type ?? 'file', mode: e.mode ?? (e.type === 'directory' ? 0o755 : 0o644), uid: e.uid ?? 0, gid: e.gid ?? 0, mtime: new Date(1_600_000_000_000), linkname: e.linkname };
    await new Promise<void>((resolve, reject) => pack.entry(header, e.content ?? '', (err) => (err ? reject(err) : resolve())));
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** Writes the case's Dockerfile and context into `dir`. */
export async function writeContext(dir: string, c: DiffCase, base: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'Dockerfile'), c.dockerfile.replaceAll('{{BASE}}', base));
  for (const [rel, spec] of Object.entries(c.files ?? {})) {
    const p = path.join(dir, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (typeof spec === 'string') fs.writeFileSync(p, spec);
    else if ('content' in spec) {
      fs.writeFileSync(p, spec.content);
      if (spec.mode !== undefined) fs.chmodSync(p, spec.mode);
      if (spec.uid !== undefined) fs.chownSync(p, spec.uid, spec.gid ?? spec.uid);
      if (spec.mtime !== undefined) fs.utimesSync(p, spec.mtime, spec.mtime);
    } else if ('compile' in spec) {
      const { execFileSync } = await import('node:child_process');
      execFileSync('gcc', ['-static', '-O2', '-o', p, path.join(import.meta.dirname, spec.compile)]);
    } else if ('fifo' in spec) {
      const { execFileSync } = await import('node:child_process');
      execFileSync('mkfifo', [p]);
    } else if ('symlink' in spec) fs.symlinkSync(spec.symlink, p);
    else if ('hardlink' in spec) fs.linkSync(path.join(dir, spec.hardlink), p);
    else if ('dir' in spec) {
      fs.mkdirSync(p, { recursive: true });
      if (spec.mode !== undefined) fs.chmodSync(p, spec.mode);
    } else {
      const { gzipSync } = await import('node:zlib');
      const { execFileSync } = await import('node:child_process');
      const raw = await tarBuffer(spec.tar);
      const c = spec.compress;
      fs.writeFileSync(p, c === 'gzip' ? gzipSync(raw) : c ? execFileSync(c, ['-c'], { input: raw }) : raw);
    }
  }
}
