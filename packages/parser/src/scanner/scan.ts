/**
 * Stage 1: the line scanner, a port of BuildKit's `parser.Parse` loop
 * (frontend/dockerfile/parser/parser.go). It strips the BOM, reads parser directives, joins
 * continuation lines (dropping comment lines and, with a warning, empty lines inside them),
 * enforces the 64 KiB line limit and reads heredoc bodies. Each logical line is handed to the
 * stage-2 grammar (`buildNode`) as soon as it is complete, because whether the following
 * lines are a heredoc body depends on the parsed instruction.
 *
 * Unlike BuildKit, which stops at the first error, the scanner records the error and goes on
 * with the next instruction, so one run reports every problem in the file.
 */

import { diagnostic, type Diagnostic, type SourceFile, type SourceRange } from '@tbuild/errors';
import type { Directives } from '../ast.ts';
import { ParseCodes } from '../codes.ts';
import { buildNode, canContainHeredoc, LineError, type RawNode } from '../grammar/node.ts';
import type { EscapeChar } from '../grammar/tokens.ts';
import { leadingSpaceLength, trimSpaceBounds, utf8Length } from '../text.ts';
import { DirectiveError, DirectiveParser } from './directives.ts';
import { heredocsFromLine, HeredocSyntaxError, type HeredocWord } from './heredoc-words.ts';
import { LogicalLine, SourceText } from './source-text.ts';

/** BuildKit's bufio.Scanner limit: a line (newline excluded) may hold at most 65535 bytes. */
export const MAX_LINE_BYTES = 65535;

export interface RawHeredoc extends HeredocWord {
  /** The body exactly as read: every line with its line ending, tabs not yet stripped. */
  content: string;
  /** Source span of the body and terminator lines. */
  bodyStart: number;
  bodyEnd: number;
}

/** One instruction as read by the scanner: the raw node plus where it came from. */
export interface RawInstruction {
  node: RawNode;
  line: LogicalLine;
  heredocs: RawHeredoc[];
  startLine: number;
  endLine: number;
  range: SourceRange;
  /** Comment lines directly above the instruction (BuildKit's `PrevComment`). */
  comments: string[];
}

export interface ScanResult {
  source: SourceText;
  file: SourceFile;
  directives: Directives;
  instructions: RawInstruction[];
  /** Errors BuildKit's first pass (`parser.Parse`) would report. */
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

interface PhysicalLine {
  start: number;
  /** End of the line's text, line feed excluded. */
  end: number;
  /** Start of the next line. */
  next: number;
  /** Line number, 1-based. */
  number: number;
}

function isCommentText(s: string): boolean {
  return s[leadingSpaceLength(s)] === '#';
}

/** Length of `s` once trailing `\r` and `\n` are removed (Go `bytes.TrimRight(s, "\r\n")`). */
function trimNewlineLength(s: string): number {
  let n = s.length;
  while (n > 0 && (s[n - 1] === '\r' || s[n - 1] === '\n')) n--;
  return n;
}

/** BuildKit's line continuation regex, as a function: the kept prefix length, or -1. */
function continuationPrefix(s: string, esc: EscapeChar): number {
  let i = s.length;
  while (i > 0 && (s[i - 1] === ' ' || s[i - 1] === '\t')) i--;
  if (i === 0 || s[i - 1] !== esc) return -1;
  const escAt = i - 1;
  if (escAt === 0) return 0; // `^\\[ \t]*$`
  return s[escAt - 1] === esc ? -1 : escAt; // `([^\\])\\[ \t]*$`
}

export function scanDockerfile(input: string, path: string): ScanResult {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const source = new SourceText(text);
  const file: SourceFile = { path, text };
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const directives: Directives = { escape: '\\' };
  const instructions: RawInstruction[] = [];

  const report = (sink: Diagnostic[], code: string, message: string, range: SourceRange, hint?: string, severity?: 'warning'): void => {
    const d = diagnostic({ code, message, location: { file, range }, ...(hint ? { hint } : {}), ...(severity ? { severity } : {}) });
    sink.push(d);
  };

  let pos = 0;
  let lineNumber = 0;
  const readLine = (): PhysicalLine | undefined => {
    if (pos >= text.length) return undefined;
    const nl = text.indexOf('\n', pos);
    const line: PhysicalLine = {
      start: pos,
      end: nl === -1 ? text.length : nl,
      next: nl === -1 ? text.length : nl + 1,
      number: ++lineNumber,
    };
    pos = line.next;
    // Only a line that could exceed the limit in UTF-8 is measured.
    if (line.end - line.start > MAX_LINE_BYTES / 3 && utf8Length(text.slice(line.start, line.end)) > MAX_LINE_BYTES) {
      report(errors, ParseCodes.LINE_TOO_LONG, `dockerfile line greater than max allowed size of ${MAX_LINE_BYTES}`, source.range(line.start, line.end), 'split the line with line continuations');
    }
    return line;
  };

  const dp = new DirectiveParser();
  let esc: EscapeChar = '\\';
  let comments: string[] = [];
  let attempted = 0;

  for (let pl = readLine(); pl; pl = readLine()) {
    const raw = text.slice(pl.start, pl.end);
    const isComment = isCommentText(raw);
    if (isComment) {
      const rest = raw.slice(1); // BuildKit drops the first byte, whatever it is
      const [a, b] = trimSpaceBounds(rest);
      const comment = rest.slice(a, b);
      if (comment === '') comments = [];
      else comments.push(comment);
    }
    const tokenLen = trimNewlineLength(raw);
    const lead = leadingSpaceLength(raw.slice(0, tokenLen));
    const token = raw.slice(lead, tokenLen);
    try {
      const directive = dp.parseLine(token);
      if (directive) {
        comments.pop();
        if (directive.name === 'escape') {
          if (directive.value !== '\\' && directive.value !== '`') {
            const vs = pl.start + lead + directive.valueStart;
            report(errors, ParseCodes.INVALID_ESCAPE, `invalid escape token '${directive.value}' does not match \` or \\`, source.range(vs, vs + directive.value.length), 'use # escape=\\ or # escape=`');
          } else {
            esc = directive.value;
            directives.escape = esc;
          }
        } else if (directive.name === 'syntax') directives.syntax = directive.value;
        else directives.check = directive.value;
      }
    } catch (e) {
      if (!(e instanceof DirectiveError)) throw e;
      report(errors, ParseCodes.DUPLICATE_DIRECTIVE, e.message, source.range(pl.start + lead, pl.start + tokenLen), 'remove the repeated directive');
    }
    const processed = isCommentText(token) ? '' : token;

    const startLine = pl.number;
    let keep = continuationPrefix(processed, esc);
    let isEnd = keep < 0;
    if (isEnd && processed.length === 0) continue;

    attempted++;
    const instrStart = pl.start + lead;
    const line = new LogicalLine(source, instrStart);
    line.append(isEnd ? processed : processed.slice(0, keep), instrStart);
    let lastEnd = pl.start + tokenLen;
    let endLine = pl.number;
    let emptyLine: PhysicalLine | undefined;

    while (!isEnd) {
      const next = readLine();
      if (!next) break;
      const raw2 = text.slice(next.start, next.end);
      const len2 = trimNewlineLength(raw2);
      lastEnd = next.start + len2;
      endLine = next.number;
      if (isCommentText(raw2)) continue;
      const token2 = raw2.slice(0, len2);
      if (leadingSpaceLength(token2) === token2.length) {
        emptyLine ??= next;
        continue;
      }
      keep = continuationPrefix(token2, esc);
      isEnd = keep < 0;
      line.append(isEnd ? token2 : token2.slice(0, keep), next.start);
    }

    if (emptyLine) {
      report(
        warnings,
        ParseCodes.EMPTY_CONTINUATION,
        'Empty continuation line',
        source.range(emptyLine.start, emptyLine.start + trimNewlineLength(text.slice(emptyLine.start, emptyLine.end))),
        'Empty continuation lines will become errors in a future release; remove the empty line or end the instruction before it',
        'warning',
      );
    }

    let node: RawNode | undefined;
    try {
      node = buildNode(line.text, esc);
    } catch (e) {
      if (!(e instanceof LineError)) throw e;
      report(errors, e.code, e.message, line.range(e.start, e.end), e.hint);
    }

    const heredocs: RawHeredoc[] = [];
    if (node && canContainHeredoc(node) && line.text.includes('<<')) {
      let words: HeredocWord[] = [];
      try {
        const found = heredocsFromLine(line.text);
        words = found.docs;
        if (found.spacedChomp) {
          report(
            warnings,
            ParseCodes.HEREDOC_SPACE,
            '"<<-" followed by a space does not start a heredoc',
            line.range(found.spacedChomp.start, found.spacedChomp.end),
            'write the delimiter right after "<<-", for example <<-EOF',
            'warning',
          );
        }
      } catch (e) {
        if (!(e instanceof HeredocSyntaxError)) throw e;
        report(errors, ParseCodes.HEREDOC_SYNTAX, e.message, line.range(0, line.text.length));
        node = undefined;
      }
      for (const w of words) {
        let content = '';
        let terminated = false;
        let indented: PhysicalLine | undefined;
        const bodyStart = pos;
        for (let b = readLine(); b; b = readLine()) {
          endLine = b.number;
          const rawB = text.slice(b.start, b.end);
          let candidate = rawB.slice(0, trimNewlineLength(rawB));
          lastEnd = b.start + candidate.length;
          if (w.chomp) candidate = candidate.replace(/^\t+/, '');
          if (candidate === w.name) {
            terminated = true;
            break;
          }
          if (!indented && candidate.trim() === w.name) indented = b;
          content += text.slice(b.start, b.next);
        }
        if (!terminated) {
          const hint = indented
            ? w.chomp
              ? `line ${indented.number} holds "${w.name}" with extra whitespace; <<- strips leading tabs only, otherwise the terminator must be exactly "${w.name}"`
              : `line ${indented.number} holds "${w.name}" with extra whitespace; the terminator must be exactly "${w.name}" (<<-${w.name} also allows leading tabs)`
            : `end the body with a line holding only "${w.name}"`;
          report(errors, ParseCodes.UNTERMINATED_HEREDOC, 'unterminated heredoc', line.range(w.start, w.end), hint);
          node = undefined;
          break;
        }
        heredocs.push({ ...w, content, bodyStart, bodyEnd: lastEnd });
      }
    }

    if (node) {
      instructions.push({
        node,
        line,
        heredocs,
        startLine,
        endLine,
        range: source.range(instrStart, Math.max(instrStart, lastEnd)),
        comments,
      });
    }
    comments = [];
  }

  if (attempted === 0) {
    report(errors, ParseCodes.EMPTY_FILE, 'file with no instructions', source.range(0, 0), 'a Dockerfile needs at least a FROM instruction');
  }

  return { source, file, directives, instructions, errors, warnings };
}
