import path from 'node:path';
import { isUnsealed } from '@tbuild/cache';
import { suggest } from '@tbuild/errors';
import { cacheDu } from '../../api/cache/du.ts';
import type { CacheEntry } from '../../api/cache/entries.ts';
import { cacheInspect } from '../../api/cache/inspect.ts';
import { cacheLs } from '../../api/cache/ls.ts';
import { remoteCacheLs } from '../../api/remote-cache-ls.ts';
import { cachePrune } from '../../api/cache/prune.ts';
import { formatSize, parseSize } from '../../api/cache/units.ts';
import { cacheVerify } from '../../api/cache/verify.ts';
import { cacheWhy, formatWhyReport } from '../../api/cache/why.ts';
import { list, str, usageError, type CommandSpec, type FlagSpec } from '../args.ts';
import type { CliContext, Command } from '../command.ts';
import { write } from '../command.ts';
import { storeRoot } from '../root.ts';
import { buildOptionsFromFlags, PLAN_FLAGS } from './build.ts';
import { ago, plural, table } from '../table.ts';

const FORMAT: FlagSpec = { name: 'format', type: 'string', choices: ['table', 'json'], help: 'output format (default table)' };
const FILTER: FlagSpec = { name: 'filter', type: 'list', placeholder: 'NAME=VALUE', help: 'ls: until=24h, since=1h, stage=, file=, text=, key=, inuse=true|false; prune: until=DURATION' };

// `main` parses one flag list per command, so `cache` declares the union and each subcommand
// checks that it was given only its own flags.
const SUBCOMMANDS: Record<string, { summary: string; usage: string; flags: string[]; args: [number, number] }> = {
  ls: {
    summary: 'List cache entries, most recently used first (--from: what a shared cache holds)',
    usage: 'tbuild cache ls [--format table|json] [--filter NAME=VALUE] [--from REF|type=local,src=DIR]',
    flags: ['format', 'filter', 'from', 'insecure-registry'],
    args: [0, 0],
  },
  du: { summary: 'Show disk usage by kind and what prune would free', usage: 'tbuild cache du [--verbose] [--format table|json]', flags: ['verbose', 'format'], args: [0, 0] },
  inspect: { summary: 'Show everything about one cache entry (JSON)', usage: 'tbuild cache inspect KEY', flags: [], args: [1, 1] },
  why: { summary: 'Explain, for each step, why it will or will not hit the cache', usage: 'tbuild cache why [BUILD FLAGS] CONTEXT', flags: ['format', ...PLAN_FLAGS.map((f) => f.name)], args: [1, 1] },
  prune: {
    summary: 'Remove cache data (never what an image or a running build needs)',
    usage: 'tbuild cache prune [--all] [--keep-storage SIZE] [--filter until=DURATION] [--mounts] [--dry-run]',
    flags: ['all', 'keep-storage', 'filter', 'mounts', 'dry-run'],
    args: [0, 0],
  },
  verify: { summary: 'Check every blob, snapshot, entry and image reference; exit 1 on problems', usage: 'tbuild cache verify [--repair]', flags: ['repair'], args: [0, 0] },
};

const spec: CommandSpec = {
  name: 'cache',
  summary: 'See, explain, prune and verify the build cache',
  usage: `tbuild cache SUBCOMMAND [FLAGS]\n\nSubcommands:\n${Object.entries(SUBCOMMANDS)
    .map(([n, s]) => `  ${n.padEnd(9)}${s.summary}`)
    .join('\n')}`,
  args: { min: 0 },
  flags: [
    FORMAT,
    FILTER,
    { name: 'verbose', short: 'v', type: 'bool', help: 'du: also list the largest entries' },
    { name: 'all', short: 'a', type: 'bool', help: 'prune: remove every cache entry (images stay)' },
    { name: 'keep-storage', type: 'string', placeholder: 'SIZE', help: 'prune: remove least recently used entries until the cache fits (e.g. 2GB)' },
    { name: 'mounts', type: 'bool', help: 'prune: remove RUN --mount=type=cache directories instead of entries' },
    { name: 'dry-run', type: 'bool', help: 'prune: only report what would be removed' },
    { name: 'repair', type: 'bool', help: 'verify: remove what is broken so the next build recomputes it' },
    { name: 'from', type: 'list', placeholder: 'REF', help: 'ls: list a shared cache (registry REF, or type=local,src=DIR) instead of the store' },
    ...PLAN_FLAGS,
  ],
  examples: [
    'tbuild cache ls --filter stage=build',
    'tbuild cache ls --from registry.local:5000/app:cache',
    'tbuild cache du --verbose',
    'tbuild cache inspect 3f2a9c1b7d2e',
    'tbuild cache why --build-arg VERSION=1.3 .',
    'tbuild cache prune --keep-storage 5GB',
    'tbuild cache verify --repair',
  ],
};

export const cacheCommand: Command = {
  spec,
  async run(ctx, { flags, positionals }) {
    const [sub, ...args] = positionals;
    if (!sub) {
      write(ctx.stderr, `error TB_CLI_USAGE: "cache" needs a subcommand: ${Object.keys(SUBCOMMANDS).join(', ')}\nhint: usage: ${spec.usage.split('\n')[0]}`);
      return 2;
    }
    const def = SUBCOMMANDS[sub];
    if (!def) {
      const near = suggest(sub, Object.keys(SUBCOMMANDS));
      throw usageError(`unknown cache subcommand "${sub}"`, near ? `did you mean "tbuild cache ${near}"?` : `subcommands: ${Object.keys(SUBCOMMANDS).join(', ')}`);
    }
    for (const name of Object.keys(flags)) {
      if (name !== 'root' && !def.flags.includes(name)) throw usageError(`unknown flag for "cache ${sub}": --${name}`, `usage: ${def.usage}`);
    }
    if (args.length < def.args[0] || args.length > def.args[1]) {
      throw usageError(`"cache ${sub}" takes ${def.args[1] === 0 ? 'no arguments' : def.args[0] === def.args[1] ? `exactly ${def.args[0]} argument` : `up to ${def.args[1]} arguments`}, got ${args.length}`, `usage: ${def.usage}`);
    }
    const root = storeRoot(ctx, flags);
    switch (sub) {
      case 'ls': {
        const from = list(flags.from).map((f) => f.replace(/src=([^,]+)/, (_m, d: string) => `src=${path.resolve(ctx.cwd, d)}`));
        const entries = from.length
          ? await remoteCacheLs({ from, filters: list(flags.filter), insecureRegistries: list(flags['insecure-registry']) })
          : await cacheLs({ root, filters: list(flags.filter) });
        return ls(ctx, entries, str(flags.format));
      }
      case 'du':
        return du(ctx, root, flags.verbose === true, str(flags.format));
      case 'inspect':
        write(ctx.stdout, JSON.stringify(await cacheInspect({ root, key: args[0]! }), null, 2));
        return 0;
      case 'why': {
        const report = await cacheWhy(await buildOptionsFromFlags(ctx, flags, args[0]!));
        write(ctx.stdout, str(flags.format) === 'json' ? JSON.stringify(report, null, 2) : formatWhyReport(report));
        return 0;
      }
      case 'prune':
        return prune(ctx, root, flags);
      default:
        return verify(ctx, root, flags.repair === true);
    }
  },
};

/** A layer with no blob yet (a stage no built image contains) has no compressed size to show. */
function entrySize(e: CacheEntry): string {
  return e.layer && isUnsealed(e.layer) ? 'unsealed' : formatSize(e.size);
}

function ls(ctx: CliContext, entries: CacheEntry[], format: string | undefined): number {
  if (format === 'json') {
    write(ctx.stdout, JSON.stringify(entries, null, 2));
    return 0;
  }
  const rows = [['KEY', 'SIZE', 'CREATED', 'LAST USED', 'HITS', 'STEP']];
  const now = Date.now();
  for (const e of entries) rows.push([e.shortKey, entrySize(e), ago(e.created, now), ago(e.lastUsed, now), String(e.hits), stepLabel(e)]);
  write(ctx.stdout, table(rows));
  return 0;
}

/** `app/Dockerfile:12 [build] COPY . /app`: where an entry came from, in one cell. */
export function stepLabel(e: CacheEntry): string {
  const text = e.text.length > 60 ? `${e.text.slice(0, 59)}…` : e.text;
  return `${e.file}:${e.line}${e.stage ? ` [${e.stage}]` : ''} ${text}`;
}

async function du(ctx: CliContext, root: string, verbose: boolean, format: string | undefined): Promise<number> {
  const u = await cacheDu({ root });
  if (format === 'json') {
    write(ctx.stdout, JSON.stringify(verbose ? u : { ...u, largest: undefined }, null, 2));
    return 0;
  }
  const rows = [
    ['TYPE', 'COUNT', 'SIZE'],
    ['Layers', String(u.layers.count), formatSize(u.layers.bytes)],
    ['Images', String(u.images.count), formatSize(u.images.bytes)],
    ['Snapshots', String(u.snapshots.count), formatSize(u.snapshots.bytes)],
    ['Cache mounts', String(u.cacheMounts.count), formatSize(u.cacheMounts.bytes)],
    ['Unreferenced', String(u.unreferenced.count), formatSize(u.unreferenced.bytes)],
    ['Total', '', formatSize(u.total)],
  ];
  const lines = [table(rows), '', `Reclaimable: ${formatSize(u.reclaimable)} by \`tbuild cache prune\`, ${formatSize(u.reclaimableAll)} by \`tbuild cache prune --all\``];
  if (verbose && u.largest.length) {
    lines.push('', 'Largest entries:', table([['KEY', 'SIZE', 'STEP'], ...u.largest.map((e) => [e.shortKey, entrySize(e), stepLabel(e)])]));
  }
  write(ctx.stdout, lines.join('\n'));
  return 0;
}

async function prune(ctx: CliContext, root: string, flags: Record<string, unknown>): Promise<number> {
  const keep = str(flags['keep-storage'] as string | undefined);
  const r = await cachePrune({
    root,
    all: flags.all === true,
    keepStorage: keep !== undefined ? parseSize(keep, '--keep-storage') : undefined,
    filters: list(flags.filter as string[] | undefined),
    mounts: flags.mounts === true,
    dryRun: flags['dry-run'] === true,
  });
  const verb = flags['dry-run'] === true ? 'Would remove' : 'Removed';
  if (r.mountsBusy) {
    write(ctx.stderr, `cache mounts kept: ${r.mountsBusy.length === 1 ? 'a build is' : `${r.mountsBusy.length} builds are`} running (pid ${r.mountsBusy.join(', ')}); run again when it is done`);
    return 1;
  }
  if (flags.mounts === true) write(ctx.stdout, `${verb} ${plural(r.mounts, 'cache mount')}`);
  else write(ctx.stdout, `${verb} ${plural(r.entries, 'cache entry', 'cache entries')}, ${plural(r.blobs, 'blob')}, ${plural(r.snapshots, 'snapshot')}`);
  write(ctx.stdout, `Total reclaimed space: ${formatSize(r.freed)}`);
  return 0;
}

async function verify(ctx: CliContext, root: string, repair: boolean): Promise<number> {
  const r = await cacheVerify({ root, repair });
  if (r.problems.length === 0) {
    write(ctx.stdout, 'cache verify: no problems found');
    return 0;
  }
  for (const p of r.problems) write(ctx.stdout, `${p.kind} ${p.id}: ${p.problem}`);
  write(ctx.stderr, `error TB_CACHE_VERIFY: ${plural(r.problems.length, 'problem')} found${repair ? ' and repaired (the next build recomputes what was removed)' : ''}${repair ? '' : '\nhint: run `tbuild cache verify --repair` to remove what is broken'}`);
  return 1;
}

