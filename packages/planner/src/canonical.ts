import { createHash } from 'node:crypto';

/**
 * Canonical text of a key pre-image. Two equal values always give the same bytes:
 * - object keys sorted by UTF-16 code unit order (plain `<`, never localeCompare, which
 *   depends on the ICU build and locale);
 * - properties whose value is `undefined` are omitted, so "absent" and "undefined" agree;
 * - arrays keep their order (order is meaningful: argv, env, sources);
 * - numbers must be safe integers (no float formatting differences, no NaN);
 * - strings use JSON escaping, which is fully specified.
 * Anything else (functions, bigint, class instances other than plain objects) is a bug.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value)) throw new Error(`canonicalJson: non-integer number ${value}`);
      return String(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) throw new Error('canonicalJson: not a plain object');
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
    }
    default:
      throw new Error(`canonicalJson: unsupported ${typeof value}`);
  }
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** `sha256:<hex>` of the canonical encoding. */
export function digestOf(value: unknown): string {
  return `sha256:${sha256Hex(canonicalJson(value))}`;
}
