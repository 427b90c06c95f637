import { resolveUser } from '../runtime/resolve-user.ts';

/**
 * The owner a `COPY/ADD --chown=user[:group]` gives, by BuildKit's file-op rules rather than
 * USER's: a numeric user without a group means that number for both uid and gid (BuildKit's
 * readUser sets GID = ByID), even when /etc/passwd lists another primary group; a name takes
 * its passwd uid and gid; an explicit group overrides the gid, and with no user (`:group`) the
 * uid is 0. Names resolve in `rootfs` (the destination stage). Unknown names stay an error
 * here, where BuildKit silently uses 0 (docs/differences.md).
 */
export function resolveCopyOwner(rootfs: string, chown: string): { uid: number; gid: number } {
  const spec = chown.trim();
  // `--chown=:group`: BuildKit finds no user named "" and keeps uid 0.
  const u = resolveUser(rootfs, spec.startsWith(':') && spec.length > 1 ? `0${spec}` : spec);
  if (/^[0-9]+$/.test(spec)) return { uid: u.uid, gid: u.uid };
  return { uid: u.uid, gid: u.gid };
}
