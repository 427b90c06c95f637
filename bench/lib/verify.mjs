// Checks a builder's output before its time counts: the image is exported as a docker archive
// (each builder's own `save`), its layers are unpacked in order with GNU tar, and the workload's
// expected files are compared by content, size or absence.
import fs from 'node:fs';
import path from 'node:path';
import { run } from './proc.mjs';

/** Unpacks `archive` (docker-archive format) into `rootfs`; whiteouts are applied. */
async function unpackArchive(archive, scratch, rootfs) {
  const x = path.join(scratch, 'archive');
  fs.mkdirSync(x, { recursive: true });
  fs.mkdirSync(rootfs, { recursive: true });
  await run('tar', ['-xf', archive, '-C', x]);
  const [entry] = JSON.parse(fs.readFileSync(path.join(x, 'manifest.json'), 'utf8'));
  for (const layer of entry.Layers) {
    const list = (await run('tar', ['-tf', path.join(x, layer)])).stdout.split('\n');
    for (const name of list) {
      const base = path.posix.basename(name);
      if (base.startsWith('.wh.') && base !== '.wh..wh..opq') {
        fs.rmSync(path.join(rootfs, path.posix.dirname(name), base.slice(4)), { recursive: true, force: true });
      }
    }
    await run('tar', ['-xf', path.join(x, layer), '-C', rootfs, '--exclude=.wh.*', '--no-same-owner']);
  }
}

/**
 * Exports with `save(archivePath)`, unpacks, and compares against `expected`. Returns a list of
 * problems (empty when the image is right).
 */
export async function verifyImage(save, expected, scratch) {
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.mkdirSync(scratch, { recursive: true });
  const archive = path.join(scratch, 'image.tar');
  const rootfs = path.join(scratch, 'rootfs');
  try {
    await save(archive);
    await unpackArchive(archive, scratch, rootfs);
    const problems = [];
    for (const e of expected) {
      const p = path.join(rootfs, e.path);
      const exists = fs.existsSync(p);
      if (e.absent) {
        if (exists) problems.push(`${e.path}: should be absent`);
        continue;
      }
      if (!exists) {
        problems.push(`${e.path}: missing`);
        continue;
      }
      if (e.size !== undefined && fs.statSync(p).size !== e.size) problems.push(`${e.path}: size ${fs.statSync(p).size}, want ${e.size}`);
      if (e.content !== undefined) {
        const got = fs.readFileSync(p, 'utf8');
        if (got !== e.content) problems.push(`${e.path}: content differs (${JSON.stringify(got.slice(0, 40))}..., want ${JSON.stringify(e.content.slice(0, 40))}...)`);
      }
    }
    return problems;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
