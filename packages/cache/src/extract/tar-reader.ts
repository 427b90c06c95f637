import tarStream from 'tar-stream';
import { cacheError } from '../errors.ts';

/** One tar header as tar-stream decodes it, plus the PAX records as raw bytes. */
export interface TarHeader {
  name: string;
  type: string | null;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtime?: Date;
  linkname?: string | null;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
  /** PAX records with undecoded values: xattr values (security.capability) are binary. */
  paxRaw?: Map<string, Buffer>;
}

export interface TarEntry extends AsyncIterable<Uint8Array> {
  header: TarHeader;
  resume(): void;
}

/** Writable end (decompressed tar bytes in) and async iterable of entries (out). */
export interface TarReader extends AsyncIterable<TarEntry> {
  write(chunk: Uint8Array): boolean;
  end(): void;
  destroy(err?: Error): void;
  on(ev: 'drain' | 'close' | 'error', fn: (...a: unknown[]) => void): unknown;
  off(ev: 'drain' | 'close' | 'error', fn: (...a: unknown[]) => void): unknown;
}

/**
 * Parses PAX extended-header records (`<len> <key>=<value>\n`) keeping values as bytes.
 * Stricter than tar-stream's decoder, which stops silently on malformed records: a malformed
 * header is refused rather than half-applied.
 */
export function decodePaxRecords(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  while (off < buf.length) {
    if (buf[off] === 0) break; // NUL padding after the last record
    const sp = buf.indexOf(0x20, off);
    const len = sp > off ? Number(buf.toString('latin1', off, sp)) : NaN;
    if (!Number.isInteger(len) || len <= sp - off + 2 || off + len > buf.length || buf[off + len - 1] !== 0x0a) {
      throw cacheError('TB_CACHE_LAYER_INVALID', 'malformed PAX extended header record');
    }
    const rec = buf.subarray(sp + 1, off + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw cacheError('TB_CACHE_LAYER_INVALID', 'malformed PAX extended header record');
    out.set(rec.toString('utf8', 0, eq), Buffer.from(rec.subarray(eq + 1)));
    off += len;
  }
  return out;
}

// tar-stream decodes PAX values as UTF-8 text, which corrupts binary xattrs. Its Extract class is
// not exported, so take it from an instance and extend the two hooks that see the raw header
// bytes. Pinned by the security.capability round-trip test in extract-attrs.test.ts.
interface ExtractInternals {
  _header: TarHeader;
  _decodeLongHeader(buf: Buffer): void;
  _applyLongHeaders(): void;
}
type ExtractCtor = new (opts?: object) => ExtractInternals;
const Base = (tarStream.extract() as unknown as { constructor: ExtractCtor }).constructor;

class RawPaxExtract extends Base {
  private rawPax: Map<string, Buffer> | null = null;
  private rawPaxGlobal: Map<string, Buffer> | null = null;

  override _decodeLongHeader(buf: Buffer): void {
    super._decodeLongHeader(buf);
    if (this._header.type === 'pax-header') {
      this.rawPax = new Map([...(this.rawPaxGlobal ?? []), ...decodePaxRecords(buf)]);
    } else if (this._header.type === 'pax-global-header') {
      this.rawPaxGlobal = decodePaxRecords(buf);
    }
  }

  override _applyLongHeaders(): void {
    const raw = this.rawPax;
    this.rawPax = null;
    super._applyLongHeaders();
    if (raw) this._header.paxRaw = raw;
  }
}

export function createTarReader(): TarReader {
  return new RawPaxExtract() as unknown as TarReader;
}
