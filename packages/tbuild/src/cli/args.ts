import { BuildError, suggest } from '@tbuild/errors';

export type FlagType = 'bool' | 'string' | 'list';

export interface FlagSpec {
  name: string;
  short?: string;
  type: FlagType;
  help: string;
  /** Shown in help: `--tag NAME`. */
  placeholder?: string;
  /** Values a string flag accepts; anything else is a usage error with a suggestion. */
  choices?: string[];
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  flags: FlagSpec[];
  examples: string[];
  /** Positional argument bounds; `max` undefined means unbounded. */
  args?: { min: number; max?: number };
  /**
   * `false` for commands that take a command line after their first positional (`run IMAGE
   * CMD...`, `exec CONTAINER CMD...`): flags end at the first positional, as in docker, so the
   * rest belongs to the command (`tbuild run img sh -c 'x'`).
   */
  interspersed?: false;
  /** Not listed in help (internal plumbing such as the container supervisor). */
  hidden?: true;
}

export type FlagValues = Record<string, string | boolean | string[] | undefined>;

export interface ParsedArgs {
  flags: FlagValues;
  positionals: string[];
}

/** Flags every command takes. */
export const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'root', type: 'string', placeholder: 'DIR', help: 'store directory (default: $TBUILD_ROOT, else ~/.local/share/tbuild)' },
  { name: 'help', short: 'h', type: 'bool', help: 'show this help' },
];

export function usageError(message: string, hint?: string): BuildError {
  return new BuildError({ code: 'TB_CLI_USAGE', message, hint });
}

/**
 * Parses argv against a command's flags the way docker's CLI does: `--name value`,
 * `--name=value`, `-t value`, `-tvalue`, repeated list flags, `--` ends flags. Unknown flags
 * and bad choices are usage errors that suggest the right spelling.
 */
export function parseArgs(spec: CommandSpec, argv: string[]): ParsedArgs {
  const all = [...spec.flags, ...GLOBAL_FLAGS];
  const byName = new Map(all.map((f) => [f.name, f]));
  const byShort = new Map(all.filter((f) => f.short).map((f) => [f.short!, f]));
  const flags: FlagValues = {};
  const positionals: string[] = [];

  const set = (f: FlagSpec, value: string | boolean): void => {
    if (f.type === 'list') {
      const list = (flags[f.name] as string[] | undefined) ?? [];
      list.push(String(value));
      flags[f.name] = list;
      return;
    }
    if (f.choices && typeof value === 'string' && !f.choices.includes(value)) {
      const near = suggest(value, f.choices);
      throw usageError(
        `invalid value "${value}" for --${f.name}`,
        near ? `did you mean "${near}"? (one of: ${f.choices.join(', ')})` : `expected one of: ${f.choices.join(', ')}`,
      );
    }
    flags[f.name] = value;
  };

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let f: FlagSpec | undefined;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      inline = eq < 0 ? undefined : a.slice(eq + 1);
      f = byName.get(name);
      if (!f) {
        const near = suggest(name, all.map((x) => x.name));
        throw usageError(`unknown flag: --${name}`, near ? `did you mean --${near}? See '${spec.usage.split(' [')[0]} --help'` : `see '${spec.name} --help'`);
      }
    } else if (a.startsWith('-') && a.length > 1) {
      f = byShort.get(a[1]!);
      if (!f) throw usageError(`unknown shorthand flag: '${a[1]}' in ${a}`, `see '${spec.name} --help'`);
      if (a.length > 2) inline = a.slice(2);
    } else {
      if (spec.interspersed === false) {
        positionals.push(...argv.slice(i));
        break;
      }
      positionals.push(a);
      continue;
    }
    if (f.type === 'bool') {
      if (inline === undefined) set(f, true);
      else if (inline === 'true' || inline === 'false') set(f, inline === 'true');
      else if (!a.startsWith('--')) {
        // docker's (pflag's) shorthand clusters: `-it` is `-i -t`, `-dit` is `-d -i -t`.
        set(f, true);
        argv = [...argv.slice(0, i + 1), `-${inline}`, ...argv.slice(i + 1)];
      } else throw usageError(`invalid boolean value "${inline}" for --${f.name}`);
      continue;
    }
    if (inline === undefined) {
      const next = argv[i + 1];
      if (next === undefined) throw usageError(`flag needs an argument: --${f.name}`, `for example: ${spec.name} --${f.name} ${f.placeholder ?? 'VALUE'}`);
      inline = next;
      i++;
    }
    set(f, inline);
  }

  const bounds = spec.args ?? { min: 0, max: 0 };
  if (!flags.help) {
    if (positionals.length < bounds.min || (bounds.max !== undefined && positionals.length > bounds.max)) {
      const expected =
        bounds.max === undefined ? `at least ${bounds.min}` : bounds.min === bounds.max ? `exactly ${bounds.min}` : `${bounds.min} to ${bounds.max}`;
      throw usageError(`"${spec.name}" requires ${expected} argument${bounds.max === 1 && bounds.min === 1 ? '' : 's'}, got ${positionals.length}`, `usage: ${spec.usage}`);
    }
  }
  return { flags, positionals };
}

export function formatHelp(spec: CommandSpec): string {
  const lines = [`Usage: ${spec.usage}`, '', spec.summary, '', 'Flags:'];
  const all = [...spec.flags, ...GLOBAL_FLAGS];
  const left = all.map((f) => {
    const short = f.short ? `-${f.short}, ` : '    ';
    const ph = f.type === 'bool' ? '' : ` ${f.placeholder ?? 'string'}`;
    return `  ${short}--${f.name}${ph}`;
  });
  const width = Math.max(...left.map((l) => l.length)) + 2;
  all.forEach((f, i) => {
    const extra = f.choices ? ` (${f.choices.join('|')})` : f.type === 'list' ? ' (repeatable)' : '';
    lines.push(`${left[i]!.padEnd(width)}${f.help}${extra}`);
  });
  if (spec.examples.length) {
    lines.push('', 'Examples:');
    for (const e of spec.examples) lines.push(`  ${e}`);
  }
  return lines.join('\n') + '\n';
}

export function str(v: FlagValues[string]): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function list(v: FlagValues[string]): string[] {
  return Array.isArray(v) ? v : [];
}
