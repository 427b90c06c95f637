import { EOF, isDigit, isLetter } from './chars.ts';
import { ShellSyntaxFailure } from './errors.ts';

// The pattern language of `${a#p}`, `${a%p}`, `${a/p/r}`: `*` and `?` with `\*`, `\?`, `\\`
// escapes (and `\}`, `\/`, which just drop the backslash). BuildKit turns the pattern into a Go
// regexp (`*` becomes `.*` or `.*?`, `?` becomes `.`), so results follow Go's regexp
// semantics: leftmost-first ("Perl") priorities, and `.` never matches a newline. We run the
// same automaton directly: a Pike VM over at most (pattern length + 1) states, which is
// O(value × pattern) like Go, with no backtracking blow-ups.

const ANY = -2;
const STAR = -3;
const NEWLINE = 0x0a;
const BOM = 0xfeff;

/** A compiled glob: code points are literals, ANY is `?`, STAR is `*` (runs collapsed). */
export type GlobOps = Int32Array;

/** Parses a glob. Throws ShellSyntaxFailure with Go's `invalid escape` wording on a bad `\x`. */
export function compileGlob(pattern: string): GlobOps {
  const ops: number[] = [];
  let i = 0;
  // BuildKit reads the pattern with Go's text/scanner, which drops a leading byte-order mark.
  if (pattern.codePointAt(0) === BOM) i = 1;
  const n = pattern.length;
  while (i < n) {
    let c = pattern.codePointAt(i)!;
    i += c > 0xffff ? 2 : 1;
    if (c === 0x2a /* * */) {
      if (ops[ops.length - 1] !== STAR) ops.push(STAR);
      continue;
    }
    if (c === 0x3f /* ? */) {
      ops.push(ANY);
      continue;
    }
    if (c === 0x5c /* \ */) {
      const next = i < n ? pattern.codePointAt(i)! : EOF;
      // `\}` and `\/` protect the delimiters of `${…}`; the backslash is not part of the pattern.
      if (next === 0x7d || next === 0x2f) continue;
      if (next !== 0x2a && next !== 0x3f && next !== 0x5c) {
        const shown = next === EOF ? '%!c(int=-1)' : String.fromCodePoint(next);
        throw new ShellSyntaxFailure(`invalid escape '\\${shown}'`);
      }
      i += 1;
      c = next;
    }
    ops.push(c);
  }
  return Int32Array.from(ops);
}

/** One priority-ordered thread list of the VM; `mark` dedups states within the list. */
interface ThreadList {
  pc: Int32Array;
  start: Int32Array;
  len: number;
  mark: Int32Array;
  gen: number;
}

function threadList(size: number): ThreadList {
  return { pc: new Int32Array(size), start: new Int32Array(size), len: 0, mark: new Int32Array(size), gen: 1 };
}

/** Finds glob matches in strings with Go regexp's leftmost-first semantics. Reusable, not reentrant. */
export class GlobMatcher {
  private readonly ops: GlobOps;
  private readonly greedy: boolean;
  private clist: ThreadList;
  private nlist: ThreadList;
  // When the pattern starts with a literal, an idle search can jump to its next occurrence.
  private readonly firstLiteral: string | undefined;

  constructor(ops: GlobOps, greedy: boolean) {
    this.ops = ops;
    this.greedy = greedy;
    const first = ops[0];
    this.firstLiteral = first !== undefined && first >= 0 ? String.fromCodePoint(first) : undefined;
    this.clist = threadList(ops.length + 1);
    this.nlist = threadList(ops.length + 1);
  }

  /**
   * The first match in `s` at or after UTF-16 offset `from` (only at `from` when anchored),
   * as [start, end) UTF-16 offsets, or undefined.
   */
  find(s: string, from: number, anchored: boolean): [number, number] | undefined {
    const ops = this.ops;
    const m = ops.length;
    let clist = this.clist;
    let nlist = this.nlist;
    clear(clist);
    let matched = false;
    let matchStart = 0;
    let matchEnd = 0;
    let pos = from;
    for (;;) {
      if (clist.len === 0) {
        if (matched || (anchored && pos !== from)) break;
        if (!anchored && this.firstLiteral !== undefined) {
          const next = s.indexOf(this.firstLiteral, pos);
          if (next < 0) break;
          pos = next;
        }
      }
      if (!matched && (!anchored || pos === from)) this.add(clist, 0, pos);
      const c = pos < s.length ? s.codePointAt(pos)! : EOF;
      clear(nlist);
      for (let i = 0; i < clist.len; i++) {
        const pc = clist.pc[i]!;
        const start = clist.start[i]!;
        if (pc === m) {
          // Leftmost-first: this match beats every lower-priority thread, so drop them.
          matched = true;
          matchStart = start;
          matchEnd = pos;
          break;
        }
        if (c === EOF) continue;
        const op = ops[pc]!;
        if (op === STAR) {
          if (c !== NEWLINE) this.add(nlist, pc, start);
        } else if (op === ANY) {
          if (c !== NEWLINE) this.add(nlist, pc + 1, start);
        } else if (op === c) {
          this.add(nlist, pc + 1, start);
        }
      }
      if (c === EOF) break;
      pos += c > 0xffff ? 2 : 1;
      const t = clist;
      clist = nlist;
      nlist = t;
    }
    return matched ? [matchStart, matchEnd] : undefined;
  }

  // Adds state `pc` and its epsilon closure. A star is a split between looping and moving on,
  // ordered by greediness; runs of stars were collapsed, so this recurses at most twice.
  private add(list: ThreadList, pc: number, start: number): void {
    if (list.mark[pc] === list.gen) return;
    list.mark[pc] = list.gen;
    if (pc < this.ops.length && this.ops[pc] === STAR) {
      if (this.greedy) {
        push(list, pc, start);
        this.add(list, pc + 1, start);
      } else {
        this.add(list, pc + 1, start);
        push(list, pc, start);
      }
      return;
    }
    push(list, pc, start);
  }
}

function clear(list: ThreadList): void {
  list.len = 0;
  list.gen++;
}

function push(list: ThreadList, pc: number, start: number): void {
  list.pc[list.len] = pc;
  list.start[list.len] = start;
  list.len++;
}

/** `${a#p}` / `${a##p}`: drops the shortest / longest prefix of `value` matching `pattern`. */
export function trimPrefix(value: string, pattern: string, greedy: boolean): string {
  const found = new GlobMatcher(compileGlob(pattern), greedy).find(value, 0, true);
  return found === undefined ? value : value.slice(found[1]);
}

/**
 * `${a%p}` / `${a%%p}`: drops the shortest / longest suffix. Like BuildKit, this reverses the
 * value and the pattern (keeping `\x` escapes in order) and trims a prefix, which is how a
 * leftmost matcher finds the shortest rightmost match.
 */
export function trimSuffix(value: string, pattern: string, greedy: boolean): string {
  return reverseString(trimPrefix(reverseString(value), reversePattern(pattern), greedy));
}

function reverseString(s: string): string {
  return Array.from(s).reverse().join('');
}

function reversePattern(pattern: string): string {
  const cps = Array.from(pattern);
  const out = new Array<string>(cps.length);
  const last = cps.length - 1;
  for (let i = 0; i <= last; ) {
    const outIdx = last - i;
    if (cps[i] === '\\' && i !== last) {
      out[outIdx - 1] = '\\';
      out[outIdx] = cps[i + 1]!;
      i += 2;
    } else {
      out[outIdx] = cps[i]!;
      i++;
    }
  }
  return out.join('');
}

/** `${a/p/r}`: the first match of `pattern` in `value` replaced by `replacement`, verbatim. */
export function replaceFirst(value: string, pattern: string, replacement: string): string {
  const found = new GlobMatcher(compileGlob(pattern), true).find(value, 0, false);
  if (found === undefined) return value;
  return value.slice(0, found[0]) + replacement + value.slice(found[1]);
}

/**
 * `${a//p/r}`: every match replaced. BuildKit uses Go's `Regexp.ReplaceAllString`, so we keep
 * its rules: an empty match right after a match is skipped, and `template` is a Go replacement
 * template (`$$` is `$`, `$0`/`${0}` the match, any other `$name` empty).
 */
export function replaceAll(value: string, pattern: string, template: string): string {
  const matcher = new GlobMatcher(compileGlob(pattern), true);
  const parts: string[] = [];
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= value.length) {
    const found = matcher.find(value, searchPos, false);
    if (found === undefined) break;
    const [start, end] = found;
    parts.push(value.slice(lastMatchEnd, start));
    if (end > lastMatchEnd || start === 0) parts.push(expandTemplate(template, value.slice(start, end)));
    lastMatchEnd = end;
    const c = value.codePointAt(searchPos);
    const width = c === undefined ? 0 : c > 0xffff ? 2 : 1;
    if (searchPos + width > end) searchPos += width;
    else if (searchPos + 1 > end) searchPos++;
    else searchPos = end;
  }
  parts.push(value.slice(lastMatchEnd));
  return parts.join('');
}

// Go's Regexp.Expand for a regexp without capture groups: only group 0 (the match) exists.
function expandTemplate(template: string, match: string): string {
  if (!template.includes('$')) return template;
  let out = '';
  let i = 0;
  for (;;) {
    const dollar = template.indexOf('$', i);
    if (dollar < 0) break;
    out += template.slice(i, dollar);
    i = dollar + 1;
    if (template[i] === '$') {
      out += '$';
      i++;
      continue;
    }
    const ref = templateRef(template, i);
    if (ref === undefined) {
      out += '$'; // malformed reference: Go keeps the `$` as text
      continue;
    }
    i = ref.end;
    if (ref.name === '0') out += match;
  }
  return out + template.slice(i);
}

function templateRef(t: string, from: number): { name: string; end: number } | undefined {
  let i = from;
  const brace = t[i] === '{';
  if (brace) i++;
  const nameStart = i;
  while (i < t.length) {
    const c = t.codePointAt(i)!;
    if (!isLetter(c) && !isDigit(c) && c !== 0x5f) break;
    i += c > 0xffff ? 2 : 1;
  }
  if (i === nameStart) return undefined;
  const name = t.slice(nameStart, i);
  if (brace) {
    if (t[i] !== '}') return undefined;
    i++;
  }
  return { name, end: i };
}
