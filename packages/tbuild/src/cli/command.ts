import type { CommandSpec, ParsedArgs } from './args.ts';

/** What a command may touch: everything from the outside world comes through here, so tests can drive `main` in-process. */
export interface CliContext {
  argv0: string;
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Aborted on SIGINT/SIGTERM: long operations must stop and clean up. */
  signal: AbortSignal;
}

export interface Command {
  spec: CommandSpec;
  /** Returns the exit code: 0 success, 1 failure, 2 usage error. */
  run(ctx: CliContext, args: ParsedArgs): Promise<number>;
}

export function write(stream: NodeJS.WritableStream, text: string): void {
  stream.write(text.endsWith('\n') || text === '' ? text : text + '\n');
}
