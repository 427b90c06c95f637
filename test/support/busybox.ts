import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Where Debian's busybox-static puts its binary; tests build their own base images from it. */
export const BUSYBOX = '/bin/busybox';

export function haveBusybox(): boolean {
  try {
    return fs.statSync(BUSYBOX).isFile() && execFileSync(BUSYBOX, ['--list']).length > 0;
  } catch {
    return false;
  }
}

/**
 * Writes a minimal busybox root filesystem into `dir` (created if missing): /bin/busybox with
 * one symlink per applet, /tmp (1777), /root, and /etc/passwd and /etc/group with root, nobody
 * and app (1000). The same layout as ../shared/tools/reference-builders.sh seeds into the
 * reference registry, so tbuild and BuildKit build from equal bases.
 */
export function makeBusyboxRootfs(dir: string): string {
  for (const d of ['bin', 'tmp', 'etc', 'root']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.copyFileSync(BUSYBOX, path.join(dir, 'bin/busybox'));
  fs.chmodSync(path.join(dir, 'bin/busybox'), 0o755);
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  for (const a of applets) {
    const p = path.join(dir, 'bin', a);
    fs.rmSync(p, { force: true });
    fs.symlinkSync('busybox', p);
  }
  fs.chmodSync(path.join(dir, 'tmp'), 0o1777);
  fs.writeFileSync(
    path.join(dir, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000:app:/home/app:/bin/sh\n',
  );
  fs.writeFileSync(path.join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\napp:x:1000:\n');
  return dir;
}

/** The image config the reference base image has (see reference-builders.sh). */
export const BUSYBOX_CONFIG = {
  Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
  Cmd: ['sh'],
};
