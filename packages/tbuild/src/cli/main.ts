import fs from 'node:fs';
import { isBuildError, renderError, suggest } from '@tbuild/errors';
import { formatHelp, parseArgs } from './args.ts';
import type { CliContext, Command } from './command.ts';
import { write } from './command.ts';
import { commands } from './commands/index.ts';

export { buildsOnce, useContextScanner } from '../api/prepare.ts';
export { useNativeSysHelper, useStartedSysHelper } from '@tbuild/executor';
export { takeCodeCacheAtFirstStep } from './code-cache.ts';

const TOP_HELP = `Usage: tbuild [OPTIONS] CONTEXT      (same as: tbuild build)
       tbuild COMMAND [OPTIONS]

tbuild builds OCI images from Dockerfiles, with a cache you can see into.

Commands:
${Object.values(commands)
  .filter((c) => !c.spec.hidden)
  .map((c) => `  ${c.spec.name.padEnd(10)}${c.spec.summary}`)
  .join('\n')}

Run 'tbuild COMMAND --help' for a command's flags and examples.
`;

/** How many leading arguments are the global `--root DIR` (or `--root=DIR`), written before the command as with `docker --config DIR build`. */
function leadingGlobals(argv: string[]): number {
  let i = 0;
  while (i < argv.length) {
    if (argv[i] === '--root' && i + 1 < argv.length) i += 2;
    else if (argv[i]!.startsWith('--root=')) i += 1;
    else break;
  }
  return i;
}

function pickCommand(argv: string[]): { command: Command | undefined; rest: string[]; unknown?: string } {
  const globals = leadingGlobals(argv);
  const first = argv[globals];
  if (first === undefined) return { command: undefined, rest: [] };
  const named = commands[first];
  if (named) return { command: named, rest: [...argv.slice(0, globals), ...argv.slice(globals + 1)] };
  // `tbuild -t app .` and `tbuild .` are builds, like `docker buildx build`.
  if (first.startsWith('-') || first === '.' || first.includes('/') || safeIsDir(first)) return { command: commands.build, rest: argv };
  return { command: undefined, rest: argv, unknown: first };
}

function safeIsDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Runs the CLI in-process and returns its exit code (0 ok, 1 failure, 2 usage error, 70 tbuild bug). */
export async function main(argv: string[], ctx?: Partial<CliContext>): Promise<number> {
  const controller = new AbortController();
  const full: CliContext = {
    argv0: 'tbuild',
    stdout: process.stdout,
    stderr: process.stderr,
    // Made on first use: Node.js builds process.stdin when it is first read, and for a file or
    // /dev/null that loads fs's streams and fs/promises (~6 ms), for a pipe node:net.
    get stdin() {
      return process.stdin;
    },
    env: process.env,
    cwd: process.cwd(),
    signal: controller.signal,
    ...ctx,
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort(new Error(`interrupted by ${sig}`));
  };
  const installSignals = !ctx;
  if (installSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  try {
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
      write(full.stdout, TOP_HELP);
      return argv.length === 0 ? 2 : 0;
    }
    if (argv[0] === '--version') argv = ['version'];
    const { command, rest, unknown } = pickCommand(argv);
    if (!command) {
      const near = unknown ? suggest(unknown, Object.keys(commands)) : undefined;
      write(full.stderr, `error TB_CLI_USAGE: unknown command "${unknown}"${near ? `\nhint: did you mean "tbuild ${near}"?` : "\nhint: run 'tbuild --help' for the list of commands"}`);
      return 2;
    }
    const parsed = parseArgs(command.spec, rest);
    if (parsed.flags.help) {
      write(full.stdout, formatHelp(command.spec));
      return 0;
    }
    return await command.run(full, parsed);
  } catch (e) {
    if (isBuildError(e)) {
      write(full.stderr, renderError(e));
      return e.code === 'TB_CLI_USAGE' ? 2 : 1;
    }
    const err = e as Error;
    write(full.stderr, `internal error: this is a tbuild bug, please report it\n${err?.stack ?? String(e)}`);
    return 70;
  } finally {
    if (installSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}
