import fs from 'node:fs';

/** One captured chunk of output, as stored (docker's json-file record). */
export interface LogRecord {
  stream: 'stdout' | 'stderr';
  /** The text: a whole line with its `\n`, or a partial line the process has not finished yet. */
  log: string;
  /** RFC 3339 with nanosecond-ish precision, when the chunk arrived. */
  time: string;
}

export interface LogRotation {
  /** Rotate once the current file would pass this many bytes. */
  maxBytes: number;
  /** Files kept, the current one included (`container.log`, `.1`, … `.(maxFiles-1)`). */
  maxFiles: number;
}

export const DEFAULT_ROTATION: LogRotation = { maxBytes: 10 * 1024 * 1024, maxFiles: 3 };

/**
 * Appends a container's output to `file` as JSON lines (docker's json-file format), rotating
 * by size. Writes are synchronous so records land in arrival order even when the supervisor
 * dies right after; a record never spans two files. Output is split at newlines so `--tail`
 * counts lines; a partial line is stored at once (as its own record) so `logs -f` shows a
 * prompt without waiting for the newline.
 */
export class LogWriter {
  #fd: number;
  #size: number;

  constructor(
    readonly file: string,
    readonly rotation: LogRotation = DEFAULT_ROTATION,
  ) {
    this.#fd = fs.openSync(file, 'a', 0o600);
    this.#size = fs.fstatSync(this.#fd).size;
  }

  write(stream: LogRecord['stream'], data: Buffer): void {
    const text = data.toString('utf8');
    const time = new Date().toISOString();
    let start = 0;
    while (start < text.length) {
      const nl = text.indexOf('\n', start);
      const end = nl < 0 ? text.length : nl + 1;
      this.#append(`${JSON.stringify({ log: text.slice(start, end), stream, time } satisfies LogRecord)}\n`);
      start = end;
    }
  }

  #append(line: string): void {
    const bytes = Buffer.byteLength(line);
    if (this.#size > 0 && this.#size + bytes > this.rotation.maxBytes) this.#rotate();
    fs.writeSync(this.#fd, line);
    this.#size += bytes;
  }

  #rotate(): void {
    fs.closeSync(this.#fd);
    const keep = Math.max(1, this.rotation.maxFiles);
    fs.rmSync(`${this.file}.${keep - 1}`, { force: true });
    for (let i = keep - 2; i >= 1; i--) {
      try {
        fs.renameSync(`${this.file}.${i}`, `${this.file}.${i + 1}`);
      } catch {
        /* not there yet */
      }
    }
    if (keep > 1) fs.renameSync(this.file, `${this.file}.1`);
    else fs.rmSync(this.file, { force: true });
    this.#fd = fs.openSync(this.file, 'a', 0o600);
    this.#size = 0;
  }

  close(): void {
    fs.closeSync(this.#fd);
  }
}

function parseLines(text: string): LogRecord[] {
  const out: LogRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const r = JSON.parse(line) as LogRecord;
      if (typeof r.log === 'string' && (r.stream === 'stdout' || r.stream === 'stderr')) out.push(r);
    } catch {
      /* a torn last line of a killed writer */
    }
  }
  return out;
}

/**
 * Every stored record, oldest first, across the rotated files, and the byte offset in the
 * current file up to which they were read (where `followLog` continues without loss or repeat).
 */
export function readLogSnapshot(file: string, maxFiles = 16): { records: LogRecord[]; offset: number } {
  const out: LogRecord[] = [];
  let offset = 0;
  for (let i = maxFiles; i >= 0; i--) {
    const f = i === 0 ? file : `${file}.${i}`;
    let text: string;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    if (i === 0) {
      // Only complete lines count: a line being written now is picked up by the follower.
      text = text.slice(0, text.lastIndexOf('\n') + 1);
      offset = Buffer.byteLength(text);
    }
    out.push(...parseLines(text));
  }
  return { records: out, offset };
}

/** The records holding the last `n` lines (a partial line counts as one). */
export function tailRecords(records: LogRecord[], n: number): LogRecord[] {
  if (n < 0) return records;
  let lines = 0;
  let i = records.length;
  while (i > 0) {
    const r = records[i - 1]!;
    // A record ending with a newline completes a line; partial records before it belong to the same line.
    if (r.log.endsWith('\n') || i === records.length) {
      if (lines === n) break;
      lines++;
    }
    i--;
  }
  return records.slice(i);
}

export interface FollowOptions {
  /** Called for each record, in order. */
  onRecord(r: LogRecord): void;
  /** Checked between polls: once true and the file is drained, following ends. */
  done(): boolean;
  signal?: AbortSignal;
  pollMs?: number;
}

/**
 * Follows `file` from byte `offset` of the current file, like `tail -F`: new records are
 * delivered as they are appended; when the writer rotates (the inode changes), the rest of the
 * old file is read before switching. Ends when `done()` holds and nothing is left to read.
 */
export async function followLog(file: string, offset: number, o: FollowOptions): Promise<void> {
  let fd = openOrUndefined(file);
  let pos = fd === undefined ? 0 : offset;
  let partial = '';
  const drain = (): void => {
    if (fd === undefined) return;
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) break;
      pos += n;
      partial += buf.subarray(0, n).toString('utf8');
      const cut = partial.lastIndexOf('\n');
      if (cut >= 0) {
        for (const r of parseLines(partial.slice(0, cut))) o.onRecord(r);
        partial = partial.slice(cut + 1);
      }
    }
  };
  try {
    for (;;) {
      const finished = o.done();
      drain();
      const ino = inode(file);
      if (fd === undefined || (ino !== undefined && ino !== fs.fstatSync(fd).ino)) {
        // Rotated (or created): the old file is complete; continue with the new one from its start.
        drain();
        if (fd !== undefined) fs.closeSync(fd);
        fd = openOrUndefined(file);
        pos = 0;
        partial = '';
        drain();
      }
      if (finished || o.signal?.aborted) return;
      await new Promise((r) => setTimeout(r, o.pollMs ?? 100));
    }
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function openOrUndefined(file: string): number | undefined {
  try {
    return fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
}

function inode(file: string): number | undefined {
  try {
    return fs.statSync(file).ino;
  } catch {
    return undefined;
  }
}
