/**
 * Stage 2: turns one logical instruction line into a raw node, the equivalent of BuildKit's
 * `parser.Node` (`newNodeFromLine` and the per-instruction line parsers of
 * frontend/dockerfile/parser/line_parsers.go). The raw node is what `dumpBuildkit` prints and
 * what the typed AST is built from; all offsets are into the logical line.
 */

import { goQuote, isSplitSpace, trimSpaceBounds } from '../text.ts';
import { argumentParser, lexFlags, lexJson, lexWords } from './parser.ts';
import type { EscapeChar } from './tokens.ts';
import type { CstNode, IToken } from 'chevrotain';
import type { FlagSectionCstChildren, JsonArrayCstChildren, JsonValueCstChildren, WordCstChildren, WordsCstChildren } from './cst.generated.ts';

/** One argument: its value and the half-open span of the logical line it came from. */
export interface RawArg {
  value: string;
  start: number;
  end: number;
}

export type RawFlag = RawArg;

export interface RawNode {
  /** The keyword as written (`From`, `RUN`, `runn`). */
  keyword: string;
  keywordStart: number;
  keywordEnd: number;
  /** Leading `--flags`, quotes and escapes removed (`--from=build`). */
  flags: RawFlag[];
  /** Arguments as BuildKit splits them; ENV and LABEL give key, value, separator triples. */
  args: RawArg[];
  /** ONBUILD's trigger. */
  child?: RawNode;
  /** True when the arguments were a JSON array (exec form). */
  json: boolean;
  /** The text this node was parsed from (the logical line, or ONBUILD's rest). */
  original: string;
  originalStart: number;
  /** Span of the argument text after the flags (BuildKit's `rest`). */
  restStart: number;
  restEnd: number;
  /** Where the command (shell text or JSON array) starts: `restStart`, or after HEALTHCHECK's type. */
  commandStart: number;
}

/** A problem with one line, found while splitting it; offsets are into the logical line. */
export class LineError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly start: number,
    readonly end: number,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export const NOT_STRING_ARRAY = 'when using JSON array syntax, arrays must be comprised of strings only';

/** BuildKit's maximum JSON nesting depth (encoding/json). */
const MAX_JSON_DEPTH = 10000;
/** Deeper arrays are checked without the recursive grammar, to keep the stack small. */
const MAX_GRAMMAR_DEPTH = 64;

interface Span {
  text: string;
  /** Offset of `text` in the logical line. */
  base: number;
}

function tokenEnd(t: IToken): number {
  return t.startOffset + t.image.length;
}

function notStringError(start: number, end: number): LineError {
  return new LineError(
    'TB_PARSE_JSON_NOT_STRINGS',
    NOT_STRING_ARRAY,
    start,
    end,
    'write every element as a JSON string, for example "80" instead of 80',
  );
}

/**
 * BuildKit `parseJSON`: the elements of a JSON array of strings, or undefined when the text is
 * not a JSON array (then it is shell form). Throws for a valid array with a non-string element.
 */
export function parseJsonArray(s: Span): RawArg[] | undefined {
  if (!s.text.startsWith('[')) return undefined;
  const lexed = lexJson(s.text);
  if (lexed.errors.length > 0) return undefined;
  let depth = 0;
  let maxDepth = 0;
  for (const t of lexed.tokens) {
    const n = t.tokenType.name;
    if (n === 'LBracket' || n === 'LBrace') maxDepth = Math.max(maxDepth, ++depth);
    else if (n === 'RBracket' || n === 'RBrace') depth--;
  }
  if (maxDepth > MAX_JSON_DEPTH) return undefined;
  if (maxDepth > MAX_GRAMMAR_DEPTH) return deepJsonArray(s, lexed.tokens);

  const parser = argumentParser();
  parser.input = lexed.tokens;
  const cst = parser.jsonArray();
  if (parser.errors.length > 0) return undefined;
  const values = ((cst.children as JsonArrayCstChildren).jsonValue ?? []) as CstNode[];
  const out: RawArg[] = [];
  for (const v of values) {
    const str = (v.children as JsonValueCstChildren).JsonString?.[0];
    if (!str) {
      const loc = v.location!;
      throw notStringError(s.base + loc.startOffset, s.base + (loc.endOffset ?? loc.startOffset) + 1);
    }
    out.push({ value: JSON.parse(str.image) as string, start: s.base + str.startOffset, end: s.base + tokenEnd(str) });
  }
  return out;
}

/** A deeply nested array: validity from the built-in JSON parser, then the first non-string element. */
function deepJsonArray(s: Span, tokens: IToken[]): RawArg[] | undefined {
  try {
    JSON.parse(s.text);
  } catch {
    return undefined;
  }
  let depth = 0;
  let expectElement = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const n = t.tokenType.name;
    if (depth === 1 && expectElement && n !== 'JsonString') {
      let j = i;
      if (n === 'LBracket' || n === 'LBrace') {
        let d = 0;
        for (; j < tokens.length; j++) {
          const m = tokens[j]!.tokenType.name;
          if (m === 'LBracket' || m === 'LBrace') d++;
          else if (m === 'RBracket' || m === 'RBrace') d--;
          if (d === 0) break;
        }
      }
      throw notStringError(s.base + t.startOffset, s.base + tokenEnd(tokens[Math.min(j, tokens.length - 1)]!));
    }
    expectElement = false;
    if (n === 'LBracket' || n === 'LBrace') {
      depth++;
      if (depth === 1) expectElement = true;
    } else if (n === 'RBracket' || n === 'RBrace') depth--;
    else if (n === 'Comma' && depth === 1) expectElement = true;
  }
  return undefined; // unreachable for a valid array deeper than MAX_GRAMMAR_DEPTH
}

/** BuildKit `parseStringsWhitespaceDelimited`: split on runs of `[\t\v\f\r ]`. */
function splitWhitespace(s: Span): RawArg[] {
  const out: RawArg[] = [];
  const t = s.text;
  if (t === '') return out;
  let start = 0;
  for (let i = 0; i <= t.length; i++) {
    if (i === t.length || isSplitSpace(t[i])) {
      out.push({ value: t.slice(start, i), start: s.base + start, end: s.base + i });
      while (i + 1 < t.length && isSplitSpace(t[i + 1])) i++;
      start = i + 1;
    }
  }
  return out;
}

/** Value of a double-quoted token: an unpaired escape at the very end of the text is dropped. */
function doubleQuotedValue(image: string, esc: EscapeChar): string {
  for (let i = 1; i < image.length; i++) {
    const c = image[i];
    if (c === esc) {
      if (i + 1 === image.length) return image.slice(0, i);
      i++;
    } else if (c === '"') return image;
  }
  return image;
}

/** BuildKit `parseWords`: shell-like words, quotes and escapes kept. */
export function parseWords(s: Span, esc: EscapeChar): RawArg[] {
  const lexed = lexWords(s.text, esc);
  const parser = argumentParser();
  parser.input = lexed.tokens;
  const cst = parser.words();
  const out: RawArg[] = [];
  for (const w of ((cst.children as WordsCstChildren).word ?? []) as CstNode[]) {
    const c = w.children as WordCstChildren;
    const tokens = [...(c.DoubleQuoted ?? []), ...(c.SingleQuoted ?? []), ...(c.EscapedChar ?? []), ...(c.TrailingEscape ?? []), ...(c.Bare ?? [])];
    tokens.sort((a, b) => a.startOffset - b.startOffset);
    let value = '';
    let quoted = false;
    for (const t of tokens) {
      const n = t.tokenType.name;
      if (n.startsWith('DoubleQuoted')) {
        quoted = true;
        value += doubleQuotedValue(t.image, esc);
      } else if (n === 'SingleQuoted') {
        quoted = true;
        value += t.image;
      } else if (!n.startsWith('TrailingEscape')) value += t.image;
    }
    if (!quoted && value === '') continue;
    const first = tokens[0]!;
    out.push({ value, start: s.base + first.startOffset, end: s.base + first.startOffset + value.length });
  }
  return out;
}

function sub(s: Span, start: number, end = s.text.length): Span {
  return { text: s.text.slice(start, end), base: s.base + start };
}

function trimmed(s: Span): Span {
  const [a, b] = trimSpaceBounds(s.text);
  return sub(s, a, b);
}

/** BuildKit `parseNameVal`, for ENV and LABEL: key, value, separator triples. */
function parseNameVal(rest: Span, keyword: string, esc: EscapeChar): RawArg[] {
  const words = parseWords(rest, esc);
  if (words.length === 0) return [];
  const first = words[0]!;
  if (!first.value.includes('=')) {
    // Legacy form `ENV key some value`: the key, then the whole rest of the line.
    const t = rest.text;
    let i = 0;
    while (i < t.length && !isSplitSpace(t[i])) i++;
    if (i === t.length) {
      throw new LineError(
        'TB_PARSE_MISSING_VALUE',
        `${keyword} must have two arguments`,
        rest.base,
        rest.base + t.length,
        `give ${t} a value: ${keyword} ${t}=value`,
      );
    }
    let j = i;
    while (j < t.length && isSplitSpace(t[j])) j++;
    const end = rest.base + t.length;
    return [
      { value: t.slice(0, i), start: rest.base, end: rest.base + i },
      { value: t.slice(j), start: rest.base + j, end },
      { value: '', start: end, end },
    ];
  }
  const out: RawArg[] = [];
  for (const w of words) {
    const eq = w.value.indexOf('=');
    if (eq === -1) {
      throw new LineError(
        'TB_PARSE_KEY_VALUE_SYNTAX',
        `Syntax error - can't find = in ${goQuote(w.value)}. Must be of the form: name=value`,
        w.start,
        w.end,
        `when one pair uses name=value, every pair must; quote values that contain spaces: ${keyword} a="x y"`,
      );
    }
    out.push({ value: w.value.slice(0, eq), start: w.start, end: w.start + eq });
    out.push({ value: w.value.slice(eq + 1), start: w.start + eq + 1, end: w.end });
    out.push({ value: '=', start: w.start + eq, end: w.start + eq + 1 });
  }
  return out;
}

function isAsciiSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';
}

interface Parsed {
  args: RawArg[];
  json: boolean;
  commandStart?: number;
  /** ONBUILD: the trigger text still to parse. */
  pending?: Span;
}

function maybeJson(rest: Span): Parsed {
  if (rest.text === '') return { args: [], json: false };
  const arr = parseJsonArray(rest);
  if (arr) return { args: arr, json: true };
  return { args: [{ value: rest.text, start: rest.base, end: rest.base + rest.text.length }], json: false };
}

function maybeJsonToList(rest: Span): Parsed {
  const arr = parseJsonArray(rest);
  if (arr) return { args: arr, json: true };
  return { args: splitWhitespace(rest), json: false };
}

function parseArgs(keyword: string, rest: Span, esc: EscapeChar): Parsed {
  switch (keyword.toLowerCase()) {
    case 'add':
    case 'copy':
    case 'volume':
      return maybeJsonToList(rest);
    case 'run':
    case 'cmd':
    case 'entrypoint':
    case 'shell':
      return maybeJson(rest);
    case 'arg':
      return { args: parseWords(rest, esc), json: false };
    case 'env':
      return { args: parseNameVal(rest, 'ENV', esc), json: false };
    case 'label':
      return { args: parseNameVal(rest, 'LABEL', esc), json: false };
    case 'expose':
    case 'from':
      return { args: splitWhitespace(rest), json: false };
    case 'maintainer':
    case 'stopsignal':
    case 'user':
    case 'workdir':
      return rest.text === ''
        ? { args: [], json: false }
        : { args: [{ value: rest.text, start: rest.base, end: rest.base + rest.text.length }], json: false };
    case 'healthcheck': {
      const t = rest.text;
      let sep = 0;
      while (sep < t.length && !isAsciiSpace(t[sep])) sep++;
      if (sep === 0) return { args: [], json: false };
      let next = sep;
      while (next < t.length && isAsciiSpace(t[next])) next++;
      const cmd = maybeJson(sub(rest, next));
      return {
        args: [{ value: t.slice(0, sep), start: rest.base, end: rest.base + sep }, ...cmd.args],
        json: cmd.json,
        commandStart: rest.base + next,
      };
    }
    case 'onbuild':
      return rest.text === '' ? { args: [], json: false } : { args: [], json: false, pending: rest };
    default:
      // BuildKit keeps unknown instructions with one empty argument; the second pass rejects them.
      return { args: [{ value: '', start: rest.base, end: rest.base }], json: false };
  }
}

/** BuildKit `splitCommand` + dispatch for one line (no ONBUILD recursion). */
function buildOne(line: Span, esc: EscapeChar): RawNode & { pending?: Span } {
  const t = trimmed(line);
  let k = 0;
  while (k < t.text.length && !isSplitSpace(t.text[k])) k++;
  const keyword = t.text.slice(0, k);
  let flags: RawFlag[] = [];
  let rest: Span = { text: '', base: t.base + t.text.length };
  if (k < t.text.length) {
    let a = k;
    while (a < t.text.length && isSplitSpace(t.text[a])) a++;
    const argsSpan = sub(t, a);
    if (!argsSpan.text.startsWith('--')) {
      // No flags: the grammar would give a single Rest token; skip it.
      return finish(keyword, t, k, [], trimmed(argsSpan), line, esc);
    }
    const lexed = lexFlags(argsSpan.text, esc);
    const parser = argumentParser();
    parser.input = lexed.tokens;
    const c = parser.flagSection().children as FlagSectionCstChildren;
    flags = (c.FlagWord ?? []).map((f) => ({
      value: (f as IToken & { payload: string }).payload,
      start: argsSpan.base + f.startOffset,
      end: argsSpan.base + tokenEnd(f),
    }));
    const restTok = c.Rest?.[0] ?? c.RestAll?.[0];
    rest = restTok ? trimmed(sub(argsSpan, restTok.startOffset)) : { text: '', base: argsSpan.base + argsSpan.text.length };
  }
  return finish(keyword, t, k, flags, rest, line, esc);
}

function finish(keyword: string, t: Span, k: number, flags: RawFlag[], rest: Span, line: Span, esc: EscapeChar): RawNode & { pending?: Span } {
  const parsed = parseArgs(keyword, rest, esc);
  const node: RawNode & { pending?: Span } = {
    keyword,
    keywordStart: t.base,
    keywordEnd: t.base + k,
    flags,
    args: parsed.args,
    json: parsed.json,
    original: line.text,
    originalStart: line.base,
    restStart: rest.base,
    restEnd: rest.base + rest.text.length,
    commandStart: parsed.commandStart ?? rest.base,
  };
  if (parsed.pending) node.pending = parsed.pending;
  return node;
}

/**
 * BuildKit `newNodeFromLine`. ONBUILD nesting is unrolled into a loop so a line of a
 * thousand `ONBUILD`s cannot exhaust the stack. Throws LineError.
 */
export function buildNode(line: string, esc: EscapeChar): RawNode {
  const root = buildOne({ text: line, base: 0 }, esc);
  let cur = root;
  while (cur.pending) {
    const child = buildOne(cur.pending, esc);
    delete cur.pending;
    cur.child = child;
    cur = child;
  }
  return root;
}

const HEREDOC_INSTRUCTIONS = new Set(['add', 'copy', 'run']);

/** BuildKit `Node.canContainHeredoc`. */
export function canContainHeredoc(node: RawNode): boolean {
  const n = node.keyword.toLowerCase() === 'onbuild' && node.child ? node.child : node;
  return HEREDOC_INSTRUCTIONS.has(n.keyword.toLowerCase()) && !n.json;
}

/** BuildKit `Node.Dump()` for one instruction (without the surrounding parentheses). */
export function dumpNode(node: RawNode): string {
  // Iterative on purpose: ONBUILD chains may be long.
  const heads: string[] = [];
  for (let n: RawNode | undefined = node; n; n = n.child) {
    let s = n.keyword.toLowerCase();
    if (n.flags.length > 0) s += ' [' + n.flags.map((f) => goQuote(f.value)).join(' ') + ']';
    for (const a of n.args) s += ' ' + goQuote(a.value);
    heads.push(s);
  }
  let out = '';
  for (let i = heads.length - 1; i >= 0; i--) {
    const inner = out === '' ? '' : ' (' + out + ')';
    const full = heads[i] + inner;
    const [a, b] = trimSpaceBounds(full); // Go strings.TrimSpace
    out = full.slice(a, b);
  }
  return out;
}
