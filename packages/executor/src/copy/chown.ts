import { resolveUser } from '../runtime/resolve-user.ts';

/**
 * The owner a `COPY/ADD --chown=user[:group]` gives, by BuildKit's file-op rules rather than
 * USER's: a numeric user without a group means that number for both uid and gid (BuildKit's
 * readUser sets GID = ByID), even when /etc/passwd lists another primary group; a name takes
 * its passwd uid and gid; an explicit group overrides the gid. Names resolve in `rootfs` (the
 * destination stage). Unknown names stay an error here, where BuildKit silently uses 0
 * (docs/differences.md).
 */
export function resolveCopyOwner(rootfs: string, chown: string): { uid: number; gid: number } {
  const u = resolveUser(rootfs, chown);
  const spec = chown.trim();
  if (/^[0-9]+$/.test(spec)) return { uid: u.uid, gid: u.uid };
  return { uid: u.uid, gid: u.gid };
}
