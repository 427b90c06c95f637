/**
 * `a`/`b` for clean path pieces (no `.`, `..` or doubled `/`, as a walk or a copy makes them),
 * either of which may be empty. Not path.join: its normalising costs ~1 us a call, and a rerun
 * COPY of a 20,000-file context and the walk of its layer join several paths per file.
 */
export function joinClean(a: string, b: string): string {
  return a === '' ? b : b === '' ? a : `${a}/${b}`;
}
