import { createHash } from 'node:crypto';
import { registryError } from './errors.ts';

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

/** Only sha256 digests are accepted anywhere: a digest is also a file name in the store. */
export function isDigest(s: string): boolean {
  return DIGEST_RE.test(s);
}

export function assertDigest(s: unknown, what: string): string {
  if (typeof s !== 'string' || !isDigest(s)) {
    throw registryError('TB_REGISTRY_BAD_DOCUMENT', `${what}: invalid digest "${String(s).slice(0, 80)}"`, {
      hint: 'tbuild accepts sha256 digests only',
    });
  }
  return s;
}

export function sha256(data: Uint8Array | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

export function digestHex(d: string): string {
  return d.slice('sha256:'.length);
}

/**
 * JSON with object keys sorted (UTF-16 code-unit order) and no whitespace, so the same
 * document always hashes to the same digest regardless of how it was built.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}
