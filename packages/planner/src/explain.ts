/** One component of a key pre-image that differs between two builds. */
export interface KeyDifference {
  /** Path into `keyInputs`, e.g. `op.env`, `op.from.digest`, `parent`. */
  path: string;
  /** For lists of plain values: the items only one side has; otherwise the two values (absent = undefined). */
  before?: unknown;
  after?: unknown;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const isScalar = (v: unknown): boolean => v === null || typeof v !== 'object';

/**
 * Explains a cache miss: the leaves where two `keyInputs` differ, in key order (UTF-16 code
 * units, like the encoding). Lists of plain values (env, argv, sources) are compared as
 * multisets first, so one changed variable reads as one removed and one added item.
 */
export function diffKeyInputs(before: unknown, after: unknown, path = ''): KeyDifference[] {
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return keys.flatMap((k) => diffKeyInputs(before[k], after[k], path ? `${path}.${k}` : k));
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    if (before.every(isScalar) && after.every(isScalar)) {
      const removed = before.filter((x) => !after.includes(x));
      const added = after.filter((x) => !before.includes(x));
      if (removed.length || added.length) return [{ path, before: removed, after: added }];
      const same = before.length === after.length && before.every((x, i) => x === after[i]);
      return same ? [] : [{ path, before, after }];
    }
    const n = Math.max(before.length, after.length);
    const out: KeyDifference[] = [];
    for (let i = 0; i < n; i++) out.push(...diffKeyInputs(before[i], after[i], `${path}[${i}]`));
    return out;
  }
  if (before === after) return [];
  return [{ path, ...(before !== undefined ? { before } : {}), ...(after !== undefined ? { after } : {}) }];
}
