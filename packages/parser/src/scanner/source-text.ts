import type { SourcePosition, SourceRange } from '@tbuild/errors';

/** Maps 0-based UTF-16 offsets of one file to 1-based line/column positions. */
export class SourceText {
  readonly text: string;
  private readonly lineStarts: number[];

  constructor(text: string) {
    this.text = text;
    const starts = [0];
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
    this.lineStarts = starts;
  }

  position(offset: number): SourcePosition {
    const o = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: o - this.lineStarts[lo]! + 1, offset: o };
  }

  range(start: number, end: number): SourceRange {
    return { start: this.position(start), end: this.position(Math.max(start, end)) };
  }
}

interface Segment {
  /** Offset of the segment in the logical line. */
  logical: number;
  /** Offset of the segment in the source text. */
  source: number;
  length: number;
}

/**
 * One logical instruction line: the physical lines of an instruction joined after their
 * continuation characters were removed, with a map back to source offsets so every piece of
 * argument text can be given its exact range in the file.
 */
export class LogicalLine {
  text = '';
  private readonly segments: Segment[] = [];

  constructor(
    readonly source: SourceText,
    /** Where an empty line "is" in the file (its first character). */
    private readonly anchor: number,
  ) {}

  append(part: string, sourceOffset: number): void {
    if (part.length === 0) return;
    this.segments.push({ logical: this.text.length, source: sourceOffset, length: part.length });
    this.text += part;
  }

  /** The source offset of logical offset `off`; `off === text.length` maps to the end of the last piece. */
  toSource(off: number): number {
    const segs = this.segments;
    if (segs.length === 0) return this.anchor;
    if (off >= this.text.length) {
      const last = segs[segs.length - 1]!;
      return last.source + last.length;
    }
    let lo = 0;
    let hi = segs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segs[mid]!.logical <= off) lo = mid;
      else hi = mid - 1;
    }
    const seg = segs[lo]!;
    return seg.source + Math.max(0, off - seg.logical);
  }

  /** Source range of the logical half-open span [start, end). */
  range(start: number, end: number): SourceRange {
    const s = this.toSource(start);
    const e = end > start ? this.toSource(end - 1) + 1 : s;
    return this.source.range(s, e);
  }
}
