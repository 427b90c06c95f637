// The file system the builders work in: a fresh ext4 with a journal (mkfs's default), made in a
// sparse file and loop-mounted over the work dir, so every run and every builder starts from the
// same file system, and one like a CI runner's.
//
// Why not the host's: this VM's root is ext4 without a journal. Without one, ext4 skips inodes
// freed in the last 60 s (360 s while their inode table block is dirty) when it allocates,
// checking each from the start of the group for every new file. Files created soon after a
// large delete (a cold reset's `rm -rf` or `docker builder prune`, Buildah removing a step's
// container) were created 2-4x slower: `nodeapp`'s install RUN took 2.4 s after its store was
// deleted and 0.6 s otherwise. Which builder paid depended on turn order and on where ext4
// placed its directories, not on the builder.
import fs from 'node:fs';
import path from 'node:path';
import { run } from './proc.mjs';

/**
 * Mounts a new `sizeGb` ext4 over `dir` (root only). Resolves {description, unmount()}, or
 * {skipped: why} when it cannot, in which case the builders work in `dir` on the host's file
 * system. A mount left by a killed run is removed first.
 */
export async function mountScratchFs(dir, sizeGb = 24) {
  if (process.getuid?.() !== 0) return { skipped: 'not root' };
  for (const tool of ['/usr/sbin/mkfs.ext4', '/usr/sbin/losetup']) if (!fs.existsSync(tool)) return { skipped: `${tool} missing` };
  const image = `${dir}.ext4`;
  await unmountStale(dir, image);
  fs.mkdirSync(dir, { recursive: true });
  fs.rmSync(image, { force: true });
  fs.closeSync(fs.openSync(image, 'w'));
  fs.truncateSync(image, sizeGb * 2 ** 30);
  // Inode tables and journal written now: lazy init would zero them in the background while the
  // builders are timed.
  const mkfs = await run('/usr/sbin/mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', image], { check: false });
  const loop = mkfs.code === 0 ? await run('/usr/sbin/losetup', ['-f', '--show', '--direct-io=on', image], { check: false }) : mkfs;
  const dev = loop.stdout.trim();
  const mounted = loop.code === 0 ? await run('mount', [dev, dir], { check: false }) : loop;
  if (mounted.code !== 0) {
    if (loop.code === 0) await run('/usr/sbin/losetup', ['-d', dev], { check: false });
    fs.rmSync(image, { force: true });
    return { skipped: `could not mount an ext4 image: ${(mounted.stderr || mounted.stdout).trim()}` };
  }
  return {
    description: `ext4 with a journal, ${sizeGb} GiB, loop-mounted (direct I/O) from ${image}`,
    async unmount() {
      // Lazily if something still holds it (an overlay a killed builder left): it goes once free.
      if ((await run('umount', [dir], { check: false })).code !== 0) await run('umount', ['-l', dir], { check: false });
      await run('/usr/sbin/losetup', ['-d', dev], { check: false });
      fs.rmSync(image, { force: true });
    },
  };
}

async function unmountStale(dir, image) {
  const mounts = fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]);
  for (const m of mounts.reverse()) if (m === dir || m?.startsWith(dir + path.sep)) await run('umount', ['-l', m], { check: false });
  const loops = await run('/usr/sbin/losetup', ['-j', image], { check: false });
  for (const line of loops.stdout.split('\n')) {
    const dev = line.split(':')[0];
    if (dev) await run('/usr/sbin/losetup', ['-d', dev], { check: false });
  }
}
