/**
 * A byte-exact tar writer for tests: builds the hostile archives of security.md §5.A (NUL
 * names, PAX paths that differ from the ustar name, binary xattrs, GNU sparse typeflags) that
 * well-behaved writers refuse to produce. Not for production layers.
 */
export interface TarSpec {
  name: string;
  /** file | dir | symlink | link | char | block | fifo, or a raw one-character typeflag. */
  type?: string;
  data?: Buffer | string;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  /** Seconds since the epoch. */
  mtime?: number;
  devmajor?: number;
  devminor?: number;
  /** PAX records, e.g. `{ 'SCHILY.xattr.security.capability': buf }`. */
  pax?: Record<string, Buffer | string>;
  /** Name in the ustar header: a string differing from `name` adds a PAX path; bytes are written raw, without PAX. */
  ustarName?: string | Buffer;
}

const TYPEFLAG: Record<string, string> = { file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(fields: { name: Buffer; mode: number; uid: number; gid: number; size: number; mtime: number; typeflag: string; linkname: Buffer; devmajor: number; devminor: number }): Buffer {
  const b = Buffer.alloc(512);
  fields.name.copy(b, 0, 0, 100);
  b.write(octal(fields.mode, 8), 100, 'latin1');
  b.write(octal(fields.uid, 8), 108, 'latin1');
  b.write(octal(fields.gid, 8), 116, 'latin1');
  b.write(octal(fields.size, 12), 124, 'latin1');
  b.write(octal(fields.mtime, 12), 136, 'latin1');
  b.write(fields.typeflag, 156, 'latin1');
  fields.linkname.copy(b, 157, 0, 100);
  b.write('ustar\u000000', 257, 'latin1');
  b.write(octal(fields.devmajor, 8), 329, 'latin1');
  b.write(octal(fields.devminor, 8), 337, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(octal(sum, 7) + ' ', 148, 'latin1');
  return b;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

function pad(b: Buffer): Buffer {
  const rest = b.length % 512;
  return rest ? Buffer.concat([b, Buffer.alloc(512 - rest)]) : b;
}

/** Serialises `entries` as a tar stream with the two zero end blocks (plus `trailingZeros` more). */
export function buildTar(entries: TarSpec[], opts: { trailingZeros?: number } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? 'file';
    const typeflag = TYPEFLAG[type] ?? type;
    const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data);
    const pax: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(e.pax ?? {})) pax[k] = Buffer.from(v);
    const nameBytes = Buffer.from(e.name);
    if ((nameBytes.length > 99 || (typeof e.ustarName === 'string' && e.ustarName !== e.name)) && !pax.path) pax.path = nameBytes;
    const linkBytes = Buffer.from(e.linkname ?? '');
    if (linkBytes.length > 99 && !pax.linkpath) pax.linkpath = linkBytes;
    const common = { mode: e.mode ?? (type === 'dir' ? 0o755 : 0o644), uid: e.uid ?? 0, gid: e.gid ?? 0, mtime: e.mtime ?? 1_700_000_000, devmajor: e.devmajor ?? 0, devminor: e.devminor ?? 0 };
    if (Object.keys(pax).length) {
      const body = Buffer.concat(Object.entries(pax).map(([k, v]) => paxRecord(k, v)));
      parts.push(header({ ...common, name: Buffer.from('PaxHeader'), size: body.length, typeflag: 'x', linkname: Buffer.alloc(0) }), pad(body));
    }
    const ustarName = e.ustarName !== undefined ? Buffer.from(e.ustarName) : nameBytes.subarray(0, 99);
    const size = typeflag === '0' || typeflag === '7' || typeflag === 'S' ? data.length : 0;
    parts.push(header({ ...common, name: ustarName, size, typeflag, linkname: linkBytes.subarray(0, 99) }));
    if (size) parts.push(pad(data));
  }
  parts.push(Buffer.alloc(1024 + 512 * (opts.trailingZeros ?? 0)));
  return Buffer.concat(parts);
}

/** A minimal zstd frame of raw (stored) blocks, enough to test the zstd path without a compressor. */
export function zstdStored(data: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xa0])];
  const fcs = Buffer.alloc(4);
  fcs.writeUInt32LE(data.length);
  parts.push(fcs);
  const MAX = 128 * 1024;
  let off = 0;
  do {
    const chunk = data.subarray(off, off + MAX);
    off += chunk.length;
    const last = off >= data.length ? 1 : 0;
    const h = (chunk.length << 3) | last; // block type 0 = raw
    parts.push(Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]), chunk);
  } while (off < data.length);
  return Buffer.concat(parts);
}
