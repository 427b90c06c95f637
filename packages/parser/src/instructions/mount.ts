/**
 * `RUN --mount` values, after BuildKit's `parseMount`
 * (frontend/dockerfile/instructions/commands_runmount.go) plus a per-type allowlist of keys.
 *
 * BuildKit checks a mount twice: at parse time without variable expansion (only the CSV syntax
 * and the rule that `from=` may not use variables), and after expansion with every rule. The
 * parser does the first (`checkRawMount`); the planner calls `parseMount` with the expanded value.
 */

import { BuildError, suggest, type ErrorLocation } from '@tbuild/errors';
import type { MountSpec } from '../ast.ts';
import { ParseCodes } from '../codes.ts';
import { goQuote } from '../text.ts';

export class MountError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** `github.com/tonistiigi/go-csvvalue` `Fields`: one CSV record, `"` quoting, no lazy quotes. */
export function csvFields(input: string): string[] {
  let line = input;
  if (line.endsWith('\r\n')) line = line.slice(0, -2);
  else if (line.endsWith('\n')) line = line.slice(0, -1);
  if (line.length === 0) throw new MountError('failed to parse csv mounts: EOF');
  const fields: string[] = [];
  let pos = 0;
  const fail = (col: number, what: string): never => {
    throw new MountError(`failed to parse csv mounts: parse error on line 1, column ${col + 1}: ${what}`);
  };
  for (;;) {
    if (line.length === 0 || line[0] !== '"') {
      const i = line.indexOf(',');
      const field = i >= 0 ? line.slice(0, i) : line;
      const q = field.indexOf('"');
      if (q >= 0) fail(pos + q, 'bare " in non-quoted-field');
      fields.push(field);
      if (i < 0) return fields;
      line = line.slice(i + 1);
      pos += i + 1;
      continue;
    }
    line = line.slice(1);
    pos += 1;
    let field = '';
    for (;;) {
      const i = line.indexOf('"');
      if (i < 0) fail(pos, 'extraneous or missing " in quoted-field');
      field += line.slice(0, i);
      line = line.slice(i + 1);
      pos += i + 1;
      if (line[0] === '"') {
        field += '"';
        line = line.slice(1);
        pos += 1;
        continue;
      }
      if (line[0] === ',') {
        fields.push(field);
        line = line.slice(1);
        pos += 1;
        break;
      }
      if (line.length === 0) {
        fields.push(field);
        return fields;
      }
      fail(pos - 1, 'extraneous or missing " in quoted-field');
    }
  }
}

/** The parse-time check BuildKit runs before expansion: CSV syntax and a literal `from=`. */
export function checkRawMount(value: string): void {
  for (const field of csvFields(value)) {
    const eq = field.indexOf('=');
    if (eq < 0) continue;
    if (field.slice(0, eq).toLowerCase() !== 'from') continue;
    const v = field.slice(eq + 1);
    const idx = v.indexOf('$');
    if (idx !== -1 && idx !== v.length - 1) {
      throw new MountError(
        "'from' doesn't support variable expansion, define alias stage instead",
        'add a stage `FROM <image> AS alias` and mount from=alias',
      );
    }
  }
}

const MOUNT_TYPES = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'] as const;
const SHARING = ['shared', 'private', 'locked'] as const;
const ALL_KEYS = [
  'type', 'from', 'source', 'target', 'readonly', 'id', 'sharing', 'required', 'size', 'mode', 'uid', 'gid',
  'src', 'dst', 'destination', 'ro', 'rw', 'readwrite', 'env',
];

/** Keys each mount type accepts (beyond type, target and the read-only switches). */
const TYPE_KEYS: Record<MountSpec['type'], readonly string[]> = {
  bind: ['source', 'src', 'from'],
  cache: ['id', 'sharing', 'from', 'source', 'src', 'mode', 'uid', 'gid'],
  tmpfs: ['size'],
  secret: ['id', 'source', 'src', 'env', 'required', 'mode', 'uid', 'gid'],
  ssh: ['id', 'required', 'mode', 'uid', 'gid'],
};
const COMMON_KEYS = ['type', 'target', 'dst', 'destination', 'readonly', 'ro', 'readwrite', 'rw'];

/** Go `strconv.ParseBool`. */
function parseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** Go `strconv.ParseUint(v, base, 32)`. */
function parseUint32(v: string, base: 8 | 10): number | undefined {
  if (!(base === 8 ? /^[0-7]+$/ : /^[0-9]+$/).test(v)) return undefined;
  const n = parseInt(v, base);
  return n <= 0xffffffff ? n : undefined;
}

/** docker/go-units `RAMInBytes`: a decimal number, an optional space, an optional binary suffix. */
function ramInBytes(v: string): number | undefined {
  let sep = -1;
  for (let i = v.length - 1; i >= 0; i--) {
    if ('0123456789. '.includes(v[i]!)) {
      sep = i;
      break;
    }
  }
  if (sep === -1) return undefined;
  const num = v[sep] === ' ' ? v.slice(0, sep) : v.slice(0, sep + 1);
  // Go strconv.ParseFloat, decimal forms only.
  if (!/^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(num)) return undefined;
  const size = Number(num);
  if (!Number.isFinite(size) || size < 0) return undefined;
  const sfx = v.slice(sep + 1).toLowerCase();
  if (sfx === '') return Math.trunc(size);
  if (sfx.length > 3) return undefined;
  if (sfx[0] === 'b') return sfx.length === 1 ? Math.trunc(size) : undefined;
  const mul: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };
  const unit = mul[sfx[0]!];
  if (unit === undefined) return undefined;
  if (sfx.length === 2 && sfx[1] !== 'b') return undefined;
  if (sfx.length === 3 && sfx.slice(1) !== 'ib') return undefined;
  return Math.trunc(size * unit);
}

function didYouMean(value: string, options: readonly string[]): string | undefined {
  const s = suggest(value, options);
  return s ? `did you mean ${s}?` : undefined;
}

/** The BuildKit rules, in BuildKit's order; throws MountError. */
export function parseMountSpec(value: string): MountSpec {
  const m: MountSpec = { type: 'bind', readonly: true };
  let roAuto = true;
  const seenKeys: string[] = [];
  for (const field of csvFields(value)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    const v = eq < 0 ? '' : field.slice(eq + 1);
    seenKeys.push(key);
    const unexpected = (): never => {
      throw new MountError(`unexpected key '${key}' for mount type '${m.type}'`);
    };
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro') {
        m.readonly = true;
        roAuto = false;
      } else if (key === 'readwrite' || key === 'rw') {
        m.readonly = false;
        roAuto = false;
      } else if (key === 'required') {
        if (m.type === 'secret' || m.type === 'ssh') m.required = true;
        else unexpected();
      } else {
        throw new MountError(`invalid field '${field}' must be a key=value pair`);
      }
      continue;
    }
    const invalidValue = (): never => {
      throw new MountError(`invalid value for ${key}: ${v}`);
    };
    switch (key) {
      case 'type': {
        const t = v.toLowerCase();
        if (!(MOUNT_TYPES as readonly string[]).includes(t)) {
          throw new MountError(`unsupported mount type ${goQuote(v)}`, didYouMean(v, MOUNT_TYPES) ?? `use one of ${MOUNT_TYPES.join(', ')}`);
        }
        m.type = t as MountSpec['type'];
        break;
      }
      case 'from':
        m.from = v;
        break;
      case 'source':
      case 'src':
        m.source = v;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.target = v;
        break;
      case 'readonly':
      case 'ro':
        m.readonly = parseBool(v) ?? invalidValue();
        roAuto = false;
        break;
      case 'readwrite':
      case 'rw':
        m.readonly = !(parseBool(v) ?? invalidValue());
        roAuto = false;
        break;
      case 'required':
        if (m.type === 'secret' || m.type === 'ssh') m.required = parseBool(v) ?? invalidValue();
        else unexpected();
        break;
      case 'size':
        if (m.type === 'tmpfs') m.size = ramInBytes(v) ?? invalidValue();
        else unexpected();
        break;
      case 'id':
        m.id = v;
        break;
      case 'sharing': {
        const sh = v.toLowerCase();
        if (!(SHARING as readonly string[]).includes(sh)) {
          throw new MountError(`unsupported sharing value ${goQuote(v)}`, didYouMean(v, SHARING) ?? `use one of ${SHARING.join(', ')}`);
        }
        m.sharing = sh as MountSpec['sharing'];
        break;
      }
      case 'mode': {
        const n = parseUint32(v, 8);
        if (n === undefined) throw new MountError(`invalid value ${v} for mode`, 'write the mode in octal, for example mode=0755');
        m.mode = n;
        break;
      }
      case 'uid':
      case 'gid': {
        const n = parseUint32(v, 10);
        if (n === undefined) throw new MountError(`invalid value ${v} for ${key}`);
        m[key] = n;
        break;
      }
      case 'env':
        m.env = v;
        break;
      default:
        throw new MountError(`unexpected key '${key}' in '${field}'`, didYouMean(key, ALL_KEYS));
    }
  }

  const fileInfoAllowed = m.type === 'secret' || m.type === 'ssh' || m.type === 'cache';
  if (!fileInfoAllowed) {
    for (const k of ['mode', 'uid', 'gid'] as const) {
      if (m[k] !== undefined) throw new MountError(`${k} not allowed for ${goQuote(m.type)} type mounts`);
    }
  }
  if (roAuto) m.readonly = !(m.type === 'cache' || m.type === 'tmpfs');
  if (m.type === 'secret') {
    if (m.from !== undefined && m.from !== '') throw new MountError('secret mount should not have a from');
    if (m.sharing) throw new MountError('secret mount should not define sharing');
    if (!m.source && !m.target && !m.id) throw new MountError('invalid secret mount. one of source, target required');
    if (m.source && m.id) throw new MountError("both source and id can't be set");
  }
  if (m.sharing && m.type !== 'cache') throw new MountError(`invalid cache sharing set for ${m.type} mount`);
  if (m.type === 'ssh' && m.source) throw new MountError('ssh does not support source');

  // tbuild's allowlist: BuildKit silently ignores these keys for this type.
  const allowed = new Set([...COMMON_KEYS, ...TYPE_KEYS[m.type]]);
  for (const key of seenKeys) {
    if (!allowed.has(key)) {
      throw new MountError(
        `unexpected key '${key}' for mount type '${m.type}'`,
        `${m.type} mounts accept ${[...allowed].filter((k) => k !== 'type').join(', ')}`,
      );
    }
  }
  return m;
}

/**
 * Parses and validates one `RUN --mount` value, already variable-expanded by the planner.
 * Throws a BuildError (TB_PARSE_INVALID_MOUNT) located at `loc` when given.
 */
export function parseMount(value: string, loc?: ErrorLocation): MountSpec {
  try {
    return parseMountSpec(value);
  } catch (e) {
    if (!(e instanceof MountError)) throw e;
    throw new BuildError({
      code: ParseCodes.INVALID_MOUNT,
      message: e.message,
      ...(loc ? { location: loc } : {}),
      ...(e.hint ? { hint: e.hint } : {}),
    });
  }
}
