import { createHash } from 'node:crypto';

const SHA256 = /^sha256:([0-9a-f]{64})$/;

/** True for the only digest form the store accepts: `sha256:` and 64 lowercase hex digits. */
export function isSha256Digest(d: unknown): d is string {
  return typeof d === 'string' && SHA256.test(d);
}

/**
 * The hex part of a digest. Digests become file names, so anything else is a programmer error
 * (callers validate digests from untrusted documents before they reach the store).
 */
export function digestHex(d: string): string {
  const m = SHA256.exec(d);
  if (!m) throw new Error(`not a sha256 digest: ${JSON.stringify(d)}`);
  return m[1]!;
}

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** File-name-safe, fixed-length name for an arbitrary key (step keys, ref names). */
export function nameHash(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
