/**
 * The second pass, after BuildKit's `instructions.Parse`
 * (frontend/dockerfile/instructions/parse.go): each raw node becomes a typed instruction, with
 * its flags validated and its arguments checked. Problems are thrown as InstructionError and
 * collected per instruction by the caller.
 */

import { suggest, type SourceRange } from '@tbuild/errors';
import type {
  ArgDecl,
  CommandLine,
  CopyFlags,
  CopyInstruction,
  Flag,
  Heredoc,
  Instruction,
  KeyValue,
  Word,
} from '../ast.ts';
import { ParseCodes } from '../codes.ts';
import type { RawArg, RawNode } from '../grammar/node.ts';
import { parseHeredocWord } from '../scanner/heredoc-words.ts';
import type { RawHeredoc, RawInstruction } from '../scanner/scan.ts';
import type { LogicalLine } from '../scanner/source-text.ts';
import { goQuote } from '../text.ts';
import { parseGoDuration, DurationError, ONE_MILLISECOND } from './duration.ts';
import { InstructionError } from './fail.ts';
import { toFlag, validateFlags, type FlagSet } from './flags.ts';
import { checkRawMount, MountError } from './mount.ts';

export const INSTRUCTION_NAMES = [
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL',
  'MAINTAINER', 'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
] as const;

const STAGE_NAME_RE = /^[a-z][a-z0-9\-_.]*$/;

/** Strips leading tabs from every line (BuildKit `ChompHeredocContent`). */
export function chompHeredocContent(content: string): string {
  return content
    .split('\n')
    .map((l) => l.replace(/^\t+/, ''))
    .join('\n');
}

/** BuildKit `suggest.matchCase`: the suggestion in the case the user typed. */
function matchCase(candidate: string, typed: string): string {
  if (typed === typed.toLowerCase()) return candidate.toLowerCase();
  if (typed === typed.toUpperCase()) return candidate.toUpperCase();
  return candidate.toLowerCase();
}

class Builder {
  constructor(
    private readonly raw: RawInstruction,
    private readonly line: LogicalLine,
  ) {}

  range(a: { start: number; end: number }): SourceRange {
    return this.line.range(a.start, a.end);
  }

  word(a: RawArg, value = a.value): Word {
    return { value, range: this.range(a) };
  }

  fail(code: string, message: string, range: SourceRange, hint?: string): never {
    throw new InstructionError(code, message, range, hint);
  }

  keywordRange(node: RawNode): SourceRange {
    return this.line.range(node.keywordStart, node.keywordEnd);
  }

  /** The range of the whole instruction (for ONBUILD's trigger: from its keyword on). */
  nodeRange(node: RawNode, top: boolean): SourceRange {
    if (top) return this.raw.range;
    return { start: this.keywordRange(node).start, end: this.raw.range.end };
  }

  argsRange(node: RawNode): SourceRange {
    if (node.args.length === 0) return this.keywordRange(node);
    return this.line.range(node.args[0]!.start, node.args[node.args.length - 1]!.end);
  }

  heredoc(h: RawHeredoc): Heredoc {
    const out: Heredoc = {
      name: h.name,
      content: h.chomp ? chompHeredocContent(h.content) : h.content,
      expand: h.expand,
      chomp: h.chomp,
      range: this.line.source.range(h.bodyStart, h.bodyEnd),
      wordRange: this.line.range(h.start, h.end),
    };
    if (h.fileDescriptor !== undefined) out.fileDescriptor = h.fileDescriptor;
    return out;
  }

  /** Instructions accept exactly `n` arguments. */
  exactlyOne(node: RawNode, kw: string): RawArg {
    if (node.args.length !== 1) {
      this.fail(ParseCodes.ARGUMENT_COUNT, `${kw} requires exactly one argument`, this.argsRange(node), `write ${kw} <${kw === 'USER' ? 'user[:group]' : kw === 'WORKDIR' ? 'path' : kw === 'STOPSIGNAL' ? 'signal' : 'value'}>`);
    }
    return node.args[0]!;
  }

  atLeastOne(node: RawNode, kw: string, hint: string): void {
    if (node.args.length === 0) this.fail(ParseCodes.ARGUMENT_COUNT, `${kw} requires at least one argument`, this.keywordRange(node), hint);
  }

  command(node: RawNode, args: RawArg[]): CommandLine {
    const range = this.line.range(node.commandStart, node.restEnd);
    if (node.json) return { form: 'exec', args: args.map((a) => a.value), range };
    return { form: 'shell', text: args.map((a) => a.value).join(' '), range };
  }

  keyValues(node: RawNode, kw: 'ENV' | 'LABEL'): KeyValue[] {
    this.atLeastOne(node, kw, `write ${kw} key=value`);
    const pairs: KeyValue[] = [];
    for (let i = 0; i + 2 < node.args.length; i += 3) {
      const key = node.args[i]!;
      const value = node.args[i + 1]!;
      const sep = node.args[i + 2]!;
      if (key.value === '') {
        this.fail(ParseCodes.BLANK_NAME, `${kw} names can not be blank`, this.line.range(key.start, value.end), `write ${kw} name=value`);
      }
      pairs.push({ key: this.word(key), value: this.word(value), legacy: sep.value === '' });
    }
    return pairs;
  }

  build(node: RawNode, heredocs: RawHeredoc[], top = true): Instruction {
    const keyword = node.keyword.toUpperCase();
    const rawFlags: Flag[] = node.flags.map((f) => toFlag(f.value, this.range(f)));
    const base: { range: SourceRange; keywordRange: SourceRange; flags: Flag[]; original: string; comments?: string[] } = {
      range: this.nodeRange(node, top),
      keywordRange: this.keywordRange(node),
      flags: rawFlags,
      original: node.original,
    };
    if (top && this.raw.comments.length > 0) base.comments = this.raw.comments;
    const flags = (kw: string): FlagSet => validateFlags(kw, rawFlags);
    const one = (set: FlagSet, name: string): Flag | undefined => set.get(name)?.[0];
    const args = node.args;

    switch (keyword) {
      case 'FROM': {
        let stageName: Word | undefined;
        if (args.length === 3 && args[1]!.value.toLowerCase() === 'as') {
          const name = args[2]!;
          if (!STAGE_NAME_RE.test(name.value.toLowerCase())) {
            this.fail(
              ParseCodes.INVALID_STAGE_NAME,
              `invalid name for build stage: ${goQuote(name.value)}, name can't start with a number or contain symbols`,
              this.range(name),
              'stage names start with a letter and contain only letters, digits, "-", "_" and "."',
            );
          }
          stageName = this.word(name);
        } else if (args.length !== 1) {
          this.fail(ParseCodes.ARGUMENT_COUNT, 'FROM requires either one or three arguments', this.argsRange(node), 'write FROM <image> or FROM <image> AS <name>');
        }
        const set = flags('FROM');
        const platform = one(set, 'platform');
        return {
          ...base,
          keyword: 'FROM',
          image: this.word(args[0]!),
          ...(stageName ? { stageName } : {}),
          ...(platform ? { platform } : {}),
        };
      }

      case 'RUN': {
        const set = flags('RUN');
        const mounts = set.get('mount') ?? [];
        for (const m of mounts) {
          try {
            checkRawMount(m.value ?? '');
          } catch (e) {
            if (!(e instanceof MountError)) throw e;
            this.fail(ParseCodes.INVALID_MOUNT, e.message, m.range, e.hint);
          }
        }
        const network = one(set, 'network');
        if (network && !['default', 'none', 'host'].includes(network.value ?? '')) {
          this.fail(ParseCodes.INVALID_FLAG_VALUE, `invalid network mode ${goQuote(network.value ?? '')}`, network.range, 'use --network=default, --network=none or --network=host');
        }
        const security = one(set, 'security');
        if (security && !['sandbox', 'insecure'].includes(security.value ?? '')) {
          this.fail(ParseCodes.INVALID_FLAG_VALUE, `security ${goQuote(security.value ?? '')} is not valid`, security.range, 'use --security=sandbox or --security=insecure');
        }
        return {
          ...base,
          keyword: 'RUN',
          command: this.command(node, args),
          heredocs: heredocs.map((h) => this.heredoc(h)),
          mounts,
          ...(network ? { network } : {}),
          ...(security ? { security } : {}),
        };
      }

      case 'CMD':
      case 'ENTRYPOINT':
        flags(keyword);
        return { ...base, keyword, command: this.command(node, args) };

      case 'SHELL': {
        flags('SHELL');
        const example = 'write SHELL ["/bin/sh", "-c"]';
        if (args.length === 0) this.fail(ParseCodes.ARGUMENT_COUNT, 'SHELL requires at least one argument', this.keywordRange(node), example);
        if (!node.json) this.fail(ParseCodes.NOT_JSON, 'SHELL requires the arguments to be in JSON form', this.argsRange(node), example);
        return { ...base, keyword: 'SHELL', args: args.map((a) => a.value) };
      }

      case 'ENV':
      case 'LABEL':
        flags(keyword);
        return { ...base, keyword, pairs: this.keyValues(node, keyword) };

      case 'MAINTAINER': {
        const name = this.exactlyOne(node, 'MAINTAINER');
        flags('MAINTAINER');
        return { ...base, keyword: 'MAINTAINER', name: this.word(name) };
      }

      case 'ADD':
      case 'COPY':
        return { ...base, ...this.copy(node, keyword, rawFlags, heredocs) };

      case 'WORKDIR':
      case 'USER':
      case 'STOPSIGNAL': {
        const arg = this.exactlyOne(node, keyword);
        flags(keyword); // BuildKit ignores flags on STOPSIGNAL; tbuild rejects them
        const w = this.word(arg);
        if (keyword === 'WORKDIR') return { ...base, keyword, path: w };
        if (keyword === 'USER') return { ...base, keyword, user: w };
        return { ...base, keyword, signal: w };
      }

      case 'VOLUME': {
        this.atLeastOne(node, 'VOLUME', 'write VOLUME /path or VOLUME ["/path"]');
        flags('VOLUME');
        const paths = args.map((a) => {
          const v = a.value.trim();
          if (v === '') this.fail(ParseCodes.EMPTY_VOLUME, 'VOLUME specified can not be an empty string', this.range(a), 'name the directory to turn into a volume');
          return this.word(a, v);
        });
        return { ...base, keyword: 'VOLUME', paths };
      }

      case 'EXPOSE':
        this.atLeastOne(node, 'EXPOSE', 'write EXPOSE <port>[/<protocol>]');
        flags('EXPOSE');
        return { ...base, keyword: 'EXPOSE', ports: args.map((a) => this.word(a)) };

      case 'ARG': {
        this.atLeastOne(node, 'ARG', 'write ARG <name>[=<default>]');
        flags('ARG'); // BuildKit ignores flags on ARG; tbuild rejects them
        const decls: ArgDecl[] = args.map((a) => {
          const eq = a.value.indexOf('=');
          if (eq < 0) return { name: this.word(a) };
          if (eq === 0) this.fail(ParseCodes.BLANK_NAME, 'ARG names can not be blank', this.range(a), 'write ARG name=value');
          return {
            name: { value: a.value.slice(0, eq), range: this.line.range(a.start, a.start + eq) },
            defaultValue: { value: a.value.slice(eq + 1), range: this.line.range(a.start + eq + 1, a.end) },
          };
        });
        return { ...base, keyword: 'ARG', args: decls };
      }

      case 'ONBUILD': {
        const child = node.child;
        if (!child) this.fail(ParseCodes.ARGUMENT_COUNT, 'ONBUILD requires at least one argument', this.keywordRange(node), 'write ONBUILD <instruction>');
        flags('ONBUILD');
        const trigger = child.keyword.trim().toUpperCase();
        if (trigger === 'ONBUILD') {
          this.fail(ParseCodes.INVALID_TRIGGER, 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed', this.keywordRange(child), 'a trigger runs once, in the build that uses this image; it cannot register another trigger');
        }
        if (trigger === 'MAINTAINER' || trigger === 'FROM') {
          this.fail(
            ParseCodes.INVALID_TRIGGER,
            `${trigger} isn't allowed as an ONBUILD trigger`,
            this.keywordRange(child),
            trigger === 'FROM' ? 'triggers run right after the downstream FROM; they cannot start a stage' : 'MAINTAINER is deprecated; use LABEL org.opencontainers.image.authors=... instead',
          );
        }
        let expression = node.original.replace(/^[\t\n\f\r ]*ONBUILD[\t\n\f\r ]*/i, '');
        for (const h of heredocs) expression += '\n' + h.content + h.name;
        return { ...base, keyword: 'ONBUILD', trigger: this.build(child, heredocs, false), expression };
      }

      case 'HEALTHCHECK':
        return { ...base, ...this.healthcheck(node, rawFlags) };

      default: {
        // Beyond 13 characters no name is within BuildKit's edit distance of 2.
        const s = node.keyword.length <= 13 ? suggest(node.keyword, INSTRUCTION_NAMES) : undefined;
        this.fail(
          ParseCodes.UNKNOWN_INSTRUCTION,
          `unknown instruction: ${node.keyword}`,
          this.keywordRange(node),
          s ? `did you mean ${matchCase(s, node.keyword)}?` : undefined,
        );
      }
    }
  }

  copy(node: RawNode, keyword: 'ADD' | 'COPY', rawFlags: Flag[], heredocs: RawHeredoc[]): Omit<CopyInstruction, 'range' | 'keywordRange' | 'flags' | 'original'> {
    const args = node.args;
    if (args.length < 2) {
      this.fail(
        ParseCodes.ARGUMENT_COUNT,
        `${keyword} requires at least two arguments, but only one was provided. Destination could not be determined`,
        this.argsRange(node),
        `write ${keyword} <source>... <destination>`,
      );
    }
    const set = validateFlags(keyword, rawFlags);
    const dest = args[args.length - 1]!;
    if (safeHeredocWord(dest.value)) {
      this.fail(ParseCodes.HEREDOC_DESTINATION, `${keyword} cannot accept a heredoc as a destination`, this.range(dest), `write ${keyword} <<EOF <destination>`);
    }
    const docs = heredocs.map((h) => this.heredoc(h));
    const byName = new Map(docs.map((d) => [d.name, d]));
    const sources = args.slice(0, -1).map((a) => {
      const w = this.word(a);
      const h = safeHeredocWord(a.value);
      if (h) {
        const found = byName.get(h.name);
        const content = found?.content ?? '';
        w.heredoc = found
          ? { ...found, expand: h.expand, chomp: h.chomp, content: h.chomp && !found.chomp ? chompHeredocContent(content) : content }
          : { name: h.name, content: '', expand: h.expand, chomp: h.chomp, range: w.range };
      }
      return w;
    });
    const one = (name: string): Flag | undefined => set.get(name)?.[0];
    const copyFlags: CopyFlags = { exclude: set.get('exclude') ?? [] };
    for (const [name, field] of [
      ['from', 'from'],
      ['chown', 'chown'],
      ['chmod', 'chmod'],
      ['link', 'link'],
      ['parents', 'parents'],
      ['checksum', 'checksum'],
      ['keep-git-dir', 'keepGitDir'],
      ['unpack', 'unpack'],
    ] as const) {
      const f = one(name);
      if (f) copyFlags[field] = f;
    }
    return { keyword, sources, destination: this.word(dest), json: node.json, heredocs: docs, copyFlags };
  }

  healthcheck(node: RawNode, rawFlags: Flag[]): Omit<Instruction & { keyword: 'HEALTHCHECK' }, 'range' | 'keywordRange' | 'flags' | 'original'> {
    const args = node.args;
    this.atLeastOne(node, 'HEALTHCHECK', 'write HEALTHCHECK CMD <command> or HEALTHCHECK NONE');
    const typ = args[0]!.value.toUpperCase();
    const set = validateFlags('HEALTHCHECK', rawFlags);
    if (typ === 'NONE') {
      if (args.length !== 1) {
        this.fail(ParseCodes.INVALID_HEALTHCHECK, 'HEALTHCHECK NONE takes no arguments', this.line.range(args[1]!.start, args[args.length - 1]!.end));
      }
      return { keyword: 'HEALTHCHECK', kind: 'none' };
    }
    if (typ !== 'CMD') {
      this.fail(ParseCodes.INVALID_HEALTHCHECK, `Unknown type ${goQuote(typ)} in HEALTHCHECK (try CMD)`, this.range(args[0]!), 'write HEALTHCHECK CMD <command> or HEALTHCHECK NONE');
    }
    const cmdArgs = args.slice(1);
    if (cmdArgs.length === 0) {
      this.fail(ParseCodes.INVALID_HEALTHCHECK, 'Missing command after HEALTHCHECK CMD', this.range(args[0]!), 'write HEALTHCHECK CMD <command>');
    }
    const out: Omit<Instruction & { keyword: 'HEALTHCHECK' }, 'range' | 'keywordRange' | 'flags' | 'original'> = {
      keyword: 'HEALTHCHECK',
      kind: 'cmd',
      command: this.command(node, cmdArgs),
    };
    for (const [name, field] of [
      ['interval', 'interval'],
      ['timeout', 'timeout'],
      ['start-period', 'startPeriod'],
      ['start-interval', 'startInterval'],
    ] as const) {
      const f = set.get(name)?.[0];
      if (!f || f.value === undefined || f.value === '') continue;
      let d: bigint;
      try {
        d = parseGoDuration(f.value);
      } catch (e) {
        if (!(e instanceof DurationError)) throw e;
        this.fail(ParseCodes.INVALID_HEALTHCHECK, e.message, f.range, 'write a duration such as 30s, 1m30s or 500ms');
      }
      if (d !== 0n && d < ONE_MILLISECOND) {
        this.fail(ParseCodes.INVALID_HEALTHCHECK, `Interval ${goQuote(name)} cannot be less than 1ms`, f.range, 'use 0 for the default or a duration of at least 1ms');
      }
      out[field] = Number(d);
    }
    const retries = set.get('retries')?.[0];
    if (retries && retries.value !== undefined && retries.value !== '') {
      const v = retries.value;
      if (!/^[+-]?[0-9]+$/.test(v)) {
        this.fail(ParseCodes.INVALID_HEALTHCHECK, `strconv.ParseInt: parsing ${goQuote(v)}: invalid syntax`, retries.range, 'write a whole number, for example --retries=3');
      }
      const n = Number(v);
      if (n > 2 ** 31 - 1 || n < -(2 ** 31)) {
        this.fail(ParseCodes.INVALID_HEALTHCHECK, `strconv.ParseInt: parsing ${goQuote(v)}: value out of range`, retries.range);
      }
      if (n < 0) this.fail(ParseCodes.INVALID_HEALTHCHECK, `--retries cannot be negative (${n})`, retries.range);
      out.retries = n;
    }
    return out;
  }
}

function safeHeredocWord(word: string): ReturnType<typeof parseHeredocWord> {
  try {
    return parseHeredocWord(word);
  } catch {
    return undefined; // BuildKit MustParseHeredoc: errors mean "not a heredoc"
  }
}

/** Builds the typed instruction for one scanned instruction; throws InstructionError. */
export function buildInstruction(raw: RawInstruction): Instruction {
  return new Builder(raw, raw.line).build(raw.node, raw.heredocs);
}
