/**
 * Parser directives (`# syntax=`, `# escape=`, `# check=`), a port of BuildKit's
 * `DirectiveParser` (frontend/dockerfile/parser/directives.go). Directives are recognised only
 * in the leading run of comment lines: the first line that is not a `#` comment, is not of the
 * form `# key=value`, or names an unknown key ends the window for good.
 */

import { leadingSpaceLength } from '../text.ts';

export interface DirectiveLine {
  name: 'syntax' | 'escape' | 'check';
  value: string;
  /** Offset of the value within the line passed to `parseLine`. */
  valueStart: number;
}

export class DirectiveError extends Error {}

const GO_RE_SPACE = '\t\n\f\r ';

/**
 * Go's `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` (Go `\s` is [\t\n\f\r ]), written out by hand:
 * the lazy value followed by trailing blanks backtracks quadratically in a regex engine.
 */
function matchDirective(body: string): [name: string, value: string, valueStart: number] | undefined {
  const m = /^[a-zA-Z][a-zA-Z0-9]*/.exec(body);
  if (!m) return undefined;
  let i = m[0].length;
  while (i < body.length && GO_RE_SPACE.includes(body[i]!)) i++;
  if (body[i] !== '=') return undefined;
  i++;
  const rest = body.slice(i);
  if (rest.length === 0 || rest.includes('\n')) return undefined;
  let lead = 0;
  while (lead < rest.length && GO_RE_SPACE.includes(rest[lead]!)) lead++;
  // All blank: the regex backtracks so that the value is the last blank character.
  if (lead === rest.length) return [m[0], rest.slice(-1), i + rest.length - 1];
  let end = rest.length;
  while (GO_RE_SPACE.includes(rest[end - 1]!)) end--;
  return [m[0], rest.slice(lead, end), i + lead];
}

const VALID = new Set(['syntax', 'escape', 'check']);

export class DirectiveParser {
  private done = false;
  private readonly seen = new Set<string>();

  /** Feeds one line (newline trimmed); returns the directive on it, if any. Throws DirectiveError. */
  parseLine(line: string): DirectiveLine | undefined {
    if (this.done) return undefined;
    if (!line.startsWith('#')) {
      this.done = true;
      return undefined;
    }
    const lead = 1 + leadingSpaceLength(line.slice(1));
    const body = line.slice(lead);
    const m = matchDirective(body);
    if (!m) {
      this.done = true;
      return undefined;
    }
    const name = m[0].toLowerCase();
    if (!VALID.has(name)) {
      this.done = true;
      return undefined;
    }
    if (this.seen.has(name)) throw new DirectiveError(`only one ${name} parser directive can be used`);
    this.seen.add(name);
    const value = m[1];
    const valueStart = m[2];
    return { name: name as DirectiveLine['name'], value, valueStart: lead + valueStart };
  }
}
