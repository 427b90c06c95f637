/**
 * A position in a source file. `line` and `column` are 1-based (what people read);
 * `offset` is a 0-based UTF-16 offset into the text (what code slices with).
 */
export interface SourcePosition {
  line: number;
  column: number;
  offset: number;
}

/** A half-open range [start, end) in one source file. */
export interface SourceRange {
  start: SourcePosition;
  end: SourcePosition;
}

/** The text a range refers to, so an error can quote the user's line without reading files. */
export interface SourceFile {
  /** Path as the user named it (e.g. `Dockerfile`, `services/api/Dockerfile`). */
  path: string;
  text: string;
}
