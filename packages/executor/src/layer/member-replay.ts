import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { sha256Off, type GzipMember, type MemberSource } from './gzip-members.ts';

// Promisified at the call: the bundle loads node:zlib on first use (scripts/bundle.mjs).
const gunzip = (bytes: zlib.InputType, options: zlib.ZlibOptions): Promise<Buffer> => promisify(zlib.gunzip)(bytes, options);

/** Members inflated ahead of the one asked for: unchanged members come in the previous blob's order. */
const AHEAD = 4;

export interface ReplayCandidate {
  index: number;
  /** Offset of its compressed bytes in the previous blob. */
  offset: number;
  member: GzipMember;
}

/**
 * The previous blob's members, for a rerun COPY whose unchanged files were moved from that
 * blob's snapshot: a member of such files has the very tar bytes the previous member had, so
 * they are taken by inflating that member instead of reading thousands of files again (the
 * 20,000-file edit read 80 MB back only to hash it). diff-upper decides when a member may be
 * replayed: every file in it moved, and every header the same bytes at the same offset.
 */
export class MemberReplay {
  readonly #source: MemberSource;
  readonly #all: ReplayCandidate[] = [];
  readonly #byFirst = new Map<string, ReplayCandidate>();
  readonly #inflated = new Map<number, Promise<{ gz: Buffer; raw: Buffer } | undefined>>();

  constructor(source: MemberSource) {
    this.#source = source;
    let offset = 0;
    source.index.members.forEach((member, index) => {
      const c = { index, offset, member };
      this.#all.push(c);
      if (member.first !== undefined) this.#byFirst.set(member.first, c);
      offset += member.gzSize;
    });
  }

  /** The previous member that started with the entry at `path`, if any. */
  candidate(path: string): ReplayCandidate | undefined {
    return this.#byFirst.get(path);
  }

  /**
   * The candidate's compressed bytes, checked against their hash, and what they inflate to;
   * undefined when the blob is gone or damaged. The next members start inflating too.
   */
  inflate(c: ReplayCandidate): Promise<{ gz: Buffer; raw: Buffer } | undefined> {
    for (let i = c.index; i <= c.index + AHEAD && i < this.#all.length; i++) this.#start(i);
    const got = this.#inflated.get(c.index)!;
    // The walk only moves forward: what is behind will not be asked for again.
    for (const k of [...this.#inflated.keys()]) if (k <= c.index) this.#inflated.delete(k);
    return got;
  }

  #start(i: number): void {
    if (this.#inflated.has(i)) return;
    const c = this.#all[i]!;
    const job = (async () => {
      const gz = await this.#source.read(c.offset, c.member.gzSize).catch(() => undefined);
      if (!gz || gz.length !== c.member.gzSize || (await sha256Off(gz)) !== c.member.gzSha) return undefined;
      // One output chunk: Node's default 16 KB chunks cost a main-thread callback and a copy each.
      const raw = await gunzip(gz, { chunkSize: Math.max(c.member.size, 64) }).catch(() => undefined);
      return raw && raw.length === c.member.size ? { gz, raw } : undefined;
    })();
    this.#inflated.set(i, job);
  }
}
