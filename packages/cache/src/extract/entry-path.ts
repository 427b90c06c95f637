import { cacheError, layerInvalid } from '../errors.ts';
import type { ExtractLimits } from './options.ts';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

/**
 * Splits an archive path into components relative to the root. A leading `/` is stripped
 * (absolute names are root-relative, as in docker), `.` and empty components vanish, and `..`
 * is resolved lexically as docker's filepath.Clean does (`a/../b` is `b`, whatever `a` is).
 * One that would climb above the root refuses the entry, or with `clamp` stops at the root.
 */
export function splitEntryPath(name: string, limits: ExtractLimits, what = 'path', clamp = false): string[] {
  checkName(name, limits, what);
  const comps: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (comps.pop() === undefined && !clamp) throw layerInvalid(name, `${what} climbs above the root with ".."`);
      continue;
    }
    if (Buffer.byteLength(c) > 255) throw layerInvalid(name.slice(0, 64) + '…', `${what} component longer than 255 bytes`);
    comps.push(c);
  }
  return comps;
}

/** Name checks shared by entry paths and link targets. */
export function checkName(name: string, limits: ExtractLimits, what: string): void {
  if (Buffer.byteLength(name) > limits.maxPathBytes) {
    throw cacheError('TB_CACHE_BUDGET_EXCEEDED', `${what} of ${Buffer.byteLength(name)} bytes exceeds the limit of ${limits.maxPathBytes}`);
  }
  if (name.includes('\0')) throw layerInvalid(name.replace(/\0/g, '\\0'), `${what} contains a NUL byte`);
  // tar-stream decodes names as UTF-8 and maps invalid bytes to U+FFFD; the file system would
  // store different bytes than the ones hashed into the diffID, so such names are refused.
  if (name.includes('\ufffd')) throw layerInvalid(name, `${what} is not valid UTF-8`);
}

export type WhiteoutKind = { kind: 'none' } | { kind: 'opaque' } | { kind: 'whiteout'; target: string };

/** Classifies the last component; rejects the malformed whiteouts containerd's validateWhiteout rejects. */
export function classifyWhiteout(entryName: string, comps: string[]): WhiteoutKind {
  for (let i = 0; i < comps.length - 1; i++) {
    if (comps[i]!.startsWith(WHITEOUT_PREFIX)) throw layerInvalid(entryName, 'a directory name starts with ".wh."');
  }
  const base = comps[comps.length - 1];
  if (base === undefined || !base.startsWith(WHITEOUT_PREFIX)) return { kind: 'none' };
  if (base === OPAQUE_MARKER) return { kind: 'opaque' };
  const target = base.slice(WHITEOUT_PREFIX.length);
  if (target === '' || target === '.' || target === '..' || target.startsWith(WHITEOUT_PREFIX)) {
    throw layerInvalid(entryName, 'invalid whiteout name');
  }
  return { kind: 'whiteout', target };
}
